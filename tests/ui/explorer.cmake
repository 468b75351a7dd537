# Specialist explorer: the simplex rules + sliders/undo (no bank needed), its session (no
# widgets), and the explorer end to end on a tiny bank trained by the test itself (coalescing, bars, streaming text).
if(TARGET souplab_ui)
  souplab_add_test(test_simplex_weights
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_simplex_weights.cpp
    LIBS souplab_ui
    LABELS ui)
  souplab_add_test(test_explorer_coalescing
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_explorer_coalescing.cpp
    LIBS souplab_ui
    LABELS ui
    TIMEOUT 900)
  # The explorer's session without a widget: linked against the glue alone (Qt Core), so the
  # rules it tests cannot lean on anything of the UI.
  souplab_add_test(test_explorer_session
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_explorer_session.cpp
    LIBS souplab_glue
    LABELS ui
    TIMEOUT 900)
  # Qt Test needs moc for the test classes (Q_OBJECT in the .cpp).
  set_target_properties(test_simplex_weights test_explorer_coalescing test_explorer_session PROPERTIES AUTOMOC ON)
endif()
