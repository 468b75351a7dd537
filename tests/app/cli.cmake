# souplab-cli end to end (test_cli.sh): corpus, train, runs, eval, generate, export, resume and
# the error paths, on a small corpus built from this repository's own files, in a temporary
# data/cache folder made by the script (never the user's ~/.local/share/souplab).
add_test(NAME cli_end_to_end
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_cli.sh $<TARGET_FILE:souplab-cli> ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_end_to_end PROPERTIES
  LABELS app
  TIMEOUT 600
  ENVIRONMENT "OMP_NUM_THREADS=2")
