#pragma once
// attentionviz's section of `mechlens report`, drawn from its archive group alone.
#include "mechlens/archive_view.hpp"
#include "mechlens/report_page.hpp"

namespace attentionviz {

void report_section(const mechlens::GroupView& group, mechlens::ReportPage& page);

}  // namespace attentionviz
