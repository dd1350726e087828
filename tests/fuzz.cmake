# CI's short fuzz pass (docs/fuzzing.md): scripts/test-fuzz.sh builds the
# libFuzzer targets of fuzz/ with clang (its own build folder) and runs each
# a fixed number of times over its seeds. The fixture "fuzz_toolchain"
# installs clang and its sanitizer runtimes when missing. The pass needs a
# second, instrumented build of the parser layers (about 12 CPU-minutes, so
# about 6 minutes on two cores) plus about a minute of runs, so it is off in a
# developer's build (-DPEFT_TEST_FUZZ=ON or `make test-fuzz` run it) and on
# where CI is set at configure time, as in .ci/run's fresh Debian root.
if(DEFINED ENV{CI})
  set(peft_test_fuzz_default ON)
else()
  set(peft_test_fuzz_default OFF)
endif()
option(PEFT_TEST_FUZZ "Run the short fuzz pass (scripts/test-fuzz.sh) in ctest" ${peft_test_fuzz_default})
if(PEFT_TEST_FUZZ)
  add_test(NAME setup_fuzz COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/test-fuzz.sh --install)
  set_tests_properties(setup_fuzz PROPERTIES FIXTURES_SETUP fuzz_toolchain TIMEOUT 900 RESOURCE_LOCK apt)
  add_test(NAME fuzz_smoke COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/test-fuzz.sh ${CMAKE_BINARY_DIR}/fuzz)
  set_tests_properties(fuzz_smoke PROPERTIES FIXTURES_REQUIRED fuzz_toolchain TIMEOUT 2400
                       ENVIRONMENT "PEFT_SHARED=${PEFT_SHARED_DIR}")
endif()
