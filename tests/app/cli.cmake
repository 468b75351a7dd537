# souplab-cli end to end (test_cli.sh): corpus, train, runs, eval, generate, export, resume and
# the error paths, on a small corpus built from this repository's own files, in a temporary
# data/cache folder made by the script (never the user's ~/.local/share/souplab).
add_test(NAME cli_end_to_end
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_cli.sh $<TARGET_FILE:souplab-cli> ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_end_to_end PROPERTIES
  LABELS app
  TIMEOUT 600
  ENVIRONMENT "OMP_NUM_THREADS=2")
# Data-parallel training from the CLI: --nproc 2, a rank killed or hung mid-run, torchrun.
add_test(NAME cli_distributed
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_distributed_cli.sh $<TARGET_FILE:souplab-cli> ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_distributed PROPERTIES
  LABELS "app;dist"
  TIMEOUT 300
  ENVIRONMENT "OMP_NUM_THREADS=1;SOUPLAB_SHARED_CORPUS=${PROJECT_SOURCE_DIR}/../shared/corpus")
