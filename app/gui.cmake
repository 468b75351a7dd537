# The Qt desktop app: souplab_glue (workers that run the engine off the GUI thread and turn its
# callbacks into Qt signals), souplab_ui (widgets) and the thin `souplab` executable.
# ui/ and app/ include only torch-free engine headers; QT_NO_KEYWORDS is set project-wide.
find_package(Qt6 REQUIRED COMPONENTS Widgets Sql PrintSupport Test)
find_package(QCustomPlotQt6 REQUIRED)  # after Qt6; find_package(QCustomPlot) would be Qt 5

file(GLOB SOUPLAB_GLUE_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/glue/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/glue/*.h)
add_library(souplab_glue STATIC ${SOUPLAB_GLUE_SOURCES})
target_include_directories(souplab_glue PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(souplab_glue PUBLIC souplab_engine Qt6::Core)
set_target_properties(souplab_glue PROPERTIES AUTOMOC ON)

file(GLOB_RECURSE SOUPLAB_UI_SOURCES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/ui/*.cpp ${PROJECT_SOURCE_DIR}/ui/*.h)
add_library(souplab_ui STATIC ${SOUPLAB_UI_SOURCES})
target_include_directories(souplab_ui PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(souplab_ui PUBLIC souplab_glue Qt6::Widgets Qt6::PrintSupport
                      QCustomPlotQt6::QCustomPlotQt6)
set_target_properties(souplab_ui PROPERTIES AUTOMOC ON)

set(SOUPLAB_GUI_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/gui/main.cpp)
file(GLOB SOUPLAB_QRC CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/resources/*.qrc)
add_executable(souplab ${SOUPLAB_GUI_SOURCES} ${SOUPLAB_QRC})
set_target_properties(souplab PROPERTIES AUTORCC ON)
target_link_libraries(souplab PRIVATE souplab_ui)
install(TARGETS souplab RUNTIME DESTINATION bin)
