# The GUI event loop stays responsive (< 100 ms stalls) while the GUI's training worker trains.
if(TARGET souplab_glue)
  souplab_add_test(test_gui_responsiveness
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_gui_responsiveness.cpp
    LIBS souplab_glue
    LABELS "reliability;ui"
    TIMEOUT 300)
endif()

# The soak (issue 28): the main window explores a trained bank while it trains a default-size one,
# driven by seeded random user actions for SOUPLAB_SOAK_MINUTES (default 30); it checks RSS growth,
# GUI-thread stalls, the training's throughput and the run log against their goals. It needs a
# trained bank and half an hour or more, so it is DISABLED: a plain `ctest` lists it as
# "Not Run (Disabled)" and CI never runs it (nor can `ctest -R test_soak` or `-L soak`). Run it with
#   scripts/soak.sh [MINUTES] [BUILD_DIR]
# which builds test_soak and souplab-cli, trains (or reuses) the default bank and runs the test under
# Xvfb with SOUPLAB_SOAK_BANK, SOUPLAB_SOAK_CORPUS and SOUPLAB_SOAK_REPORT set.
if(TARGET souplab_ui)
  souplab_add_test(test_soak
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_soak.cpp
            ${CMAKE_CURRENT_LIST_DIR}/gui_probes.h
            ${CMAKE_CURRENT_LIST_DIR}/run_log_check.h
    LIBS souplab_ui SQLite::SQLite3
    LABELS soak
    TIMEOUT 7200)
  set_tests_properties(test_soak PROPERTIES DISABLED TRUE)
endif()
