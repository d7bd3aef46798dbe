#include <iostream>

#include "commands.hpp"

namespace mechlens::cli {

Parsed parse(const Args& args, const po::options_description& options, const std::vector<std::string>& positional) {
  po::options_description all;
  all.add(options);
  po::options_description hidden;
  po::positional_options_description order;
  for (const std::string& name : positional) {
    hidden.add_options()(name.c_str(), po::value<std::string>());
    order.add(name.c_str(), 1);
  }
  all.add(hidden);

  Parsed parsed;
  try {
    po::store(po::command_line_parser(args).options(all).positional(order).run(), parsed.values);
  } catch (const po::too_many_positional_options_error&) {
    throw UsageError("too many arguments");
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  parsed.help = parsed.values.count("help") != 0;
  if (!parsed.help) po::notify(parsed.values);
  return parsed;
}

po::options_description options_with_help() {
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  return options;
}

void print_help(const std::string& usage, const std::string& summary, const po::options_description& options) {
  std::cout << "usage: mechlens " << usage << "\n\n" << summary << "\n\n" << options;
}

}  // namespace mechlens::cli
