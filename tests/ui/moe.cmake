# The MoE expert-load heat map and the run browser with a MoE run beside a soup run, on tiny
# runs trained by the test itself (offscreen Qt).
if(TARGET souplab_ui)
  souplab_add_test(test_expert_load_map
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_expert_load_map.cpp
            ${CMAKE_CURRENT_LIST_DIR}/ui_test_corpus.h
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 600)
endif()
