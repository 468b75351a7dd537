# Corpus cache, batch sampler and demo corpus (no libtorch).
souplab_add_test(test_corpus SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_corpus.cpp LIBS souplab_core LABELS core)
souplab_add_test(test_sampler SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sampler.cpp LIBS souplab_core LABELS core)
souplab_add_test(test_demo_corpus SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_demo_corpus.cpp LIBS souplab_core LABELS core)
# The suites include their own .moc (Q_OBJECT in the .cpp); harmless if the helper enables it too.
set_target_properties(test_corpus test_sampler test_demo_corpus PROPERTIES AUTOMOC ON)
