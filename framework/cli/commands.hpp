#pragma once
// The `mechlens` subcommands, one file each. A command returns its exit code;
// bad usage throws UsageError (exit 2), anything else mechlens::Error or
// std::exception (exit 1); main() prints either once, on one line.
#include <boost/program_options.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace mechlens::cli {

namespace po = boost::program_options;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Args = std::vector<std::string>;  // the arguments after the subcommand's name

int run_command(const Args& args);
int validate_command(const Args& args);
int plugins_command(const Args& args);
int adapters_command(const Args& args);
int describe_command(const Args& args);
int inspect_command(const Args& args);
int tokenize_command(const Args& args);
int new_plugin_command(const Args& args);
int verify_command(const Args& args);
int report_command(const Args& args);
int merge_command(const Args& args);
int slurm_command(const Args& args);

// A subcommand's option list, starting with -h/--help.
po::options_description options_with_help();
// One subcommand's command line: named options plus positional arguments
// (`positional` names them in order; a trailing "..." in usage is the doc).
struct Parsed {
  po::variables_map values;
  bool help = false;
};
Parsed parse(const Args& args, const po::options_description& options, const std::vector<std::string>& positional);
// "usage: mechlens <usage>\n\n<summary>\n\n<options>"
void print_help(const std::string& usage, const std::string& summary, const po::options_description& options);

}  // namespace mechlens::cli
