# Reliability (crash safety, bad input, fuzzing; label `reliability` / `fuzz`).
#   reliability_kill_test: SIGKILLs souplab-cli train 10 times (3 during checkpoint writes),
#     resumes, checks checkpoints, run log and bit-equal parameters. The long variant (30 kills)
#     runs on demand: SOUPLAB_KILL_TEST_LONG=1 ctest -R reliability_kill_test, or
#     python3 tests/reliability/kill_test.py build/app/souplab-cli --long
#   test_bad_input: corpus, memory, CLI and run-log bad-input audit.
add_test(NAME reliability_kill_test
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/kill_test.py $<TARGET_FILE:souplab-cli>)
set_tests_properties(reliability_kill_test PROPERTIES
  LABELS reliability TIMEOUT 900 ENVIRONMENT "OMP_NUM_THREADS=1")

souplab_add_test(test_bad_input SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_bad_input.cpp
                 LIBS souplab_core LABELS reliability TIMEOUT 600)
target_compile_definitions(test_bad_input PRIVATE SOUPLAB_CLI="$<TARGET_FILE:souplab-cli>")
add_dependencies(test_bad_input souplab-cli)

# libFuzzer targets of the torch-free readers, 20 s each (fuzz/build-and-run.sh builds them with
# clang into build-fuzz/ here). Fails loudly if clang or libclang-rt-14-dev is missing.
# The readers link no libtorch, so the fuzz build is the same whichever libtorch this build
# uses: it runs in the default (Debian) build's suite, and a build against another libtorch
# shows it as skipped rather than fuzzing the same code twice (~3 minutes of CI).
if(SOUPLAB_DEB)
  add_test(NAME fuzz_readers COMMAND bash ${PROJECT_SOURCE_DIR}/fuzz/build-and-run.sh 20)
else()
  add_test(NAME fuzz_readers COMMAND sh -c "echo 'SKIP: the readers are torch-free: fuzzed in the default build (Debian libtorch), the same code'; exit 77")
  set_tests_properties(fuzz_readers PROPERTIES SKIP_RETURN_CODE 77)
endif()
set_tests_properties(fuzz_readers PROPERTIES
  LABELS fuzz TIMEOUT 1500 ENVIRONMENT "SOUPLAB_FUZZ_BUILD_DIR=${CMAKE_BINARY_DIR}/build-fuzz")
