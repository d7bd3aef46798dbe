// mechlens inspect FILE.h5
#include <iostream>

#include "commands.hpp"
#include "store/archive.hpp"

namespace mechlens::cli {

int inspect_command(const Args& args) {
  po::options_description options = options_with_help();
  const Parsed p = parse(args, options, {"file"});
  if (p.help) {
    print_help("inspect FILE.h5",
               "Lists an archive's runs (status, start and end time), their analyses, and each\n"
               "dataset with its shape and dimension names.",
               options);
    return 0;
  }
  if (!p.values.count("file")) throw UsageError("inspect: missing FILE");
  std::cout << store::describe(p.values["file"].as<std::string>());
  return 0;
}

}  // namespace mechlens::cli
