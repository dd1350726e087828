# peft serve: the API without HTTP, the HTTP transport in-process, and the
# real binary on a real index (with the page in headless Chromium).
peft_test(test_serve_api peft_search)
peft_test(test_serve_http peft_search)
peft_test(test_serve_cli PkgConfig::HTTPLIB nlohmann_json::nlohmann_json)
if(TARGET test_serve_cli)
  add_dependencies(test_serve_cli peft_cli)
endif()
find_package(ZLIB REQUIRED)
add_executable(test_serve_browser test_serve_browser.cpp test_util.cpp)
target_link_libraries(test_serve_browser PRIVATE PkgConfig::HTTPLIB nlohmann_json::nlohmann_json ZLIB::ZLIB
                      GTest::gtest GTest::gtest_main)
target_include_directories(test_serve_browser PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(test_serve_browser PRIVATE PEFT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                           PEFT_BINARY_DIR="${CMAKE_BINARY_DIR}")
add_dependencies(test_serve_browser peft_cli)
# One ENVIRONMENT value (see tests/report.cmake); PEFT_SHARED and PEFT_BIN
# have defaults in test_util.cpp.
gtest_discover_tests(test_serve_browser DISCOVERY_TIMEOUT 60
  PROPERTIES ENVIRONMENT "PEFT_BROWSER=chromium"
  FIXTURES_REQUIRED browser)
