# src/dist and data-parallel training. test_dist runs as a plain process and,
# when the build has MPI, on 2 and 3 ranks; test_dist_train runs
# `mpirun -np 2/3 peft train` against the single-process run. Ranks oversubscribe the
# cores (CI has 2) with one thread each; --allow-run-as-root because CI runs
# the tests as root.
add_executable(test_dist test_dist.cpp)
target_link_libraries(test_dist PRIVATE peft_train GTest::gtest)
add_test(NAME dist.single COMMAND test_dist)
if(PEFT_DIST_LIBS)
  set(peft_mpirun ${MPIEXEC_EXECUTABLE} --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS=1)
  add_test(NAME dist.mpi2 COMMAND ${peft_mpirun} -np 2 $<TARGET_FILE:test_dist>)
  add_test(NAME dist.mpi3 COMMAND ${peft_mpirun} -np 3 $<TARGET_FILE:test_dist>)
  set_tests_properties(dist.mpi2 dist.mpi3 PROPERTIES TIMEOUT 120)
  peft_test(test_dist_train peft_io nlohmann_json::nlohmann_json)
  target_compile_definitions(test_dist_train PRIVATE PEFT_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  add_dependencies(test_dist_train peft_cli)
endif()
