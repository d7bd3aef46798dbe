// mechlens verify FILE.h5
#include <iostream>

#include "commands.hpp"
#include "store/verify_isolated.hpp"

namespace mechlens::cli {

int verify_command(const Args& args) {
  po::options_description options = options_with_help();
  options.add_options()("stall-seconds", po::value<double>()->default_value(60.0),
                        "report the archive as damaged when reading makes no progress for this long");
  const Parsed p = parse(args, options, {"file"});
  if (p.help) {
    print_help("verify FILE.h5",
               "Reads every group, attribute and dataset of an archive and reports what cannot be\n"
               "read: a truncated file, damaged metadata, or data failing its Fletcher32 checksum.\n"
               "The reading runs in a child process: damaged metadata that crashes the HDF5 library\n"
               "or makes it loop is reported too (unreadable, damaged metadata).\n"
               "Exit status 0 when everything reads, 1 when something is damaged.",
               options);
    return 0;
  }
  if (!p.values.count("file")) throw UsageError("verify: missing FILE");
  const std::string path = p.values["file"].as<std::string>();
  const double stall = p.values["stall-seconds"].as<double>();
  if (!(stall > 0)) throw UsageError("verify: --stall-seconds must be > 0");
  const store::VerifyReport report = store::verify_archive_isolated(path, stall);
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
