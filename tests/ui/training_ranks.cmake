# The GUI's training session with several data-parallel ranks (threads over loopback Gloo).
if(TARGET souplab_glue)
  souplab_add_test(test_training_ranks
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_training_ranks.cpp
    LIBS souplab_glue
    LABELS "ui;dist"
    TIMEOUT 300)
endif()
