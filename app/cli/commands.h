#pragma once
// souplab-cli subcommands; each returns the process exit code and throws souplab::Error for
// bad input (main prints it to stderr and exits non-zero).
#include <string>

namespace souplab::cli {

class ProgressBar;
// The demo corpus folder, built first (with messages on `bar`) if it is not there yet.
std::string ensure_demo_corpus(ProgressBar& bar);

int cmd_info(int argc, char** argv);
int cmd_corpus(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_resume(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_runs(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_finetune(int argc, char** argv);
int cmd_corpus_cluster(int argc, char** argv);  // corpus cluster (domain_commands.cpp)
int cmd_weights(int argc, char** argv);
int cmd_merge(int argc, char** argv);  // merge_commands.cpp
int cmd_experts(int argc, char** argv);    // post-hoc experts (posthoc_commands.cpp)
int cmd_phatgoose(int argc, char** argv);
int cmd_wemoe(int argc, char** argv);
int cmd_compare(int argc, char** argv);

}  // namespace souplab::cli
