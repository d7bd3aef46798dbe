// mechlens verify FILE.h5
#include <iostream>

#include "commands.hpp"
#include "store/verify.hpp"

namespace mechlens::cli {

int verify_command(const Args& args) {
  po::options_description options = options_with_help();
  const Parsed p = parse(args, options, {"file"});
  if (p.help) {
    print_help("verify FILE.h5",
               "Reads every group, attribute and dataset of an archive and reports what cannot be\n"
               "read: a truncated file, damaged metadata, or data failing its Fletcher32 checksum.\n"
               "Exit status 0 when everything reads, 1 when something is damaged.",
               options);
    return 0;
  }
  if (!p.values.count("file")) throw UsageError("verify: missing FILE");
  const std::string path = p.values["file"].as<std::string>();
  const store::VerifyReport report = store::verify_archive(path);
  if (report.ok()) {
    std::cout << path << ": ok (" << report.groups << " groups, " << report.attributes << " attributes, "
              << report.datasets << " datasets read, " << report.checksummed << " of them with checksums)\n";
    return 0;
  }
  std::cout << path << ": damaged (" << report.problems.size() << " problem"
            << (report.problems.size() == 1 ? "" : "s") << ")\n";
  for (const auto& problem : report.problems) std::cout << "  " << problem << "\n";
  return 1;
}

}  // namespace mechlens::cli
