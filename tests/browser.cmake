# Tests that render a page in headless Chromium require the fixture
# "browser": scripts/test-browser.sh installs Debian's chromium when it is
# missing and checks that it renders. Such tests read the browser's path
# from the environment variable PEFT_BROWSER (set by their own
# ENVIRONMENT property to "chromium") and fail, not skip, without it.
add_test(NAME setup_browser COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/test-browser.sh)
set_tests_properties(setup_browser PROPERTIES FIXTURES_SETUP browser TIMEOUT 900
                     # apt allows one installer at a time; test-data.sh installs too
                     RESOURCE_LOCK apt)
