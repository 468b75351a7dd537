# The Debian package: built with cpack from this build tree into a temporary folder, unpacked
# with dpkg-deb, its files, control fields and unpacked binaries checked (test_deb.sh).
# It packages what is already built: run it after building souplab-cli (and souplab, and the
# man pages: target souplab_man_pages, or `deb`).
if(NOT SOUPLAB_DEB)
  # Shown as skipped (not passed) in the summary, with the reason in the test's output.
  add_test(NAME installer_deb COMMAND sh -c "echo 'SKIP: the .deb packages the build against Debian libtorch; this build uses ${TORCH_INSTALL_PREFIX}'; exit 77")
  set_tests_properties(installer_deb PROPERTIES LABELS installer SKIP_RETURN_CODE 77)
  return()
endif()
if(TARGET souplab)
  set(_souplab_gui gui)
else()
  set(_souplab_gui nogui)
endif()
# The package has man pages when help2man is there (installer/CMakeLists.txt, same cache entry).
find_program(SOUPLAB_HELP2MAN help2man)
if(SOUPLAB_HELP2MAN)
  set(_souplab_man man)
else()
  set(_souplab_man noman)
endif()
add_test(NAME installer_deb
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_deb.sh ${CMAKE_CPACK_COMMAND} ${CMAKE_BINARY_DIR}
                 ${PROJECT_VERSION} ${_souplab_gui} ${_souplab_man})
set_tests_properties(installer_deb PROPERTIES
  LABELS installer
  TIMEOUT 300
  ENVIRONMENT "QT_QPA_PLATFORM=offscreen")
