// mechlens merge OUT SHARD... : the shards of `mechlens run --shard I/N` joined into one run.
#include <iostream>

#include "commands.hpp"
#include "host/merge.hpp"

namespace mechlens::cli {

int merge_command(const Args& args) {
  po::options_description options = options_with_help();
  // Positionals: OUT, then any number of shards (parse() takes one value per name).
  po::options_description all, hidden;
  hidden.add_options()("out", po::value<std::string>())("shards", po::value<std::vector<std::string>>());
  all.add(options).add(hidden);
  po::positional_options_description order;
  order.add("out", 1).add("shards", -1);
  Parsed p;
  try {
    po::store(po::command_line_parser(args).options(all).positional(order).run(), p.values);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  p.help = p.values.count("help") != 0;
  if (p.help) {
    print_help("merge OUT.h5 SHARD.h5...",
               "Joins the archives of `mechlens run RECIPE --shard I/N` (every shard 0..N-1 once, from the same\n"
               "resolved recipe, inputs and checkpoint) into one new run of OUT.h5 that equals the unsharded run:\n"
               "per-input datasets concatenated in input order, aggregates combined as each plugin declares.",
               options);
    return 0;
  }
  if (!p.values.count("out")) throw UsageError("merge: missing OUT.h5");
  if (!p.values.count("shards")) throw UsageError("merge: missing SHARD.h5 (one or more shard archives)");
  host::MergeOptions merge;
  merge.out = p.values["out"].as<std::string>();
  merge.shards = p.values["shards"].as<std::vector<std::string>>();
  merge.command_line = "mechlens merge";
  for (const std::string& a : args) merge.command_line += " " + a;
  const host::MergeResult result = host::merge_shards(merge);
  std::cout << "merged " << result.shards << " shards (" << result.inputs << " inputs)\n";
  std::cout << "results: " << result.archive << " (" << result.run_name << ")\n";
  return 0;
}

}  // namespace mechlens::cli
