# The HTML report (src/report/, peft report): the page's structure from
# made-up runs, the CLI on real runs and bad input, and the page rendered
# by headless Chromium (fixture "browser", tests/browser.cmake).
peft_test(test_report peft_report)
peft_test(test_report_cli)
if(TARGET test_report_cli)
  add_dependencies(test_report_cli peft_cli)
endif()
find_package(ZLIB REQUIRED)
add_executable(test_report_browser test_report_browser.cpp test_util.cpp)
target_link_libraries(test_report_browser PRIVATE ZLIB::ZLIB GTest::gtest GTest::gtest_main)
target_include_directories(test_report_browser PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(test_report_browser PRIVATE PEFT_SOURCE_DIR="${CMAKE_SOURCE_DIR}" PEFT_BINARY_DIR="${CMAKE_BINARY_DIR}")
add_dependencies(test_report_browser peft_cli)
# One ENVIRONMENT value: set_tests_properties reads a second one as a
# property name. PEFT_SHARED and PEFT_BIN have defaults in test_util.cpp.
gtest_discover_tests(test_report_browser DISCOVERY_TIMEOUT 60
  PROPERTIES ENVIRONMENT "PEFT_BROWSER=chromium"
  FIXTURES_REQUIRED browser)
# Embedding runs: PCA against numpy (bench/make_report_pca_goldens.py),
# histograms, projection and retrieval metrics.
peft_test(test_report_embedding peft_report)
