# src/dist and data-parallel training. test_dist runs as a plain process and,
# when the build has MPI, on 2 and 3 ranks; test_dist_train runs
# `mpirun -np 2/3 peft train` against the single-process run, test_dist_embed
# `mpirun -np 2/3/5 peft embed`, test_dist_embed_train `mpirun -np 2/3 peft
# train --task embedding`. Ranks oversubscribe the
# cores (CI has 2) with one thread each; --allow-run-as-root because CI runs
# the tests as root.
add_executable(test_dist test_dist.cpp)
target_link_libraries(test_dist PRIVATE peft_train GTest::gtest)
add_test(NAME dist.single COMMAND test_dist)
if(PEFT_DIST_LIBS)
  set(peft_mpirun ${MPIEXEC_EXECUTABLE} --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS=1)
  add_test(NAME dist.mpi2 COMMAND ${peft_mpirun} -np 2 $<TARGET_FILE:test_dist>)
  add_test(NAME dist.mpi3 COMMAND ${peft_mpirun} -np 3 $<TARGET_FILE:test_dist>)
  # 4 ranks: the block sum's recursive doubling over more than one level.
  add_test(NAME dist.mpi4 COMMAND ${peft_mpirun} -np 4 $<TARGET_FILE:test_dist>)
  # Root in a container (CI): Open MPI wants both variables, and its
  # shared-memory single-copy mode (CMA) needs ptrace rights containers lack.
  set(peft_mpi_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_btl_vader_single_copy_mechanism=none)
  if(PEFT_SANITIZE)
    # `make test-asan`: Open MPI's own leaks are suppressed
    # (tests/sanitizers/lsan_mpi.supp), which needs whole stacks: Debian's
    # Open MPI has no frame pointers, so the fast unwinder stops after one
    # frame, and its components must stay loaded to be named.
    list(APPEND peft_mpi_env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0
         OMPI_MCA_mca_base_component_disable_dlclose=1
         LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/sanitizers/lsan_mpi.supp)
  endif()
  set_tests_properties(dist.mpi2 dist.mpi3 dist.mpi4 PROPERTIES TIMEOUT 120 ENVIRONMENT "${peft_mpi_env}")
  peft_test(test_dist_train peft_io nlohmann_json::nlohmann_json)
  target_compile_definitions(test_dist_train PRIVATE PEFT_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  add_dependencies(test_dist_train peft_cli)
  peft_test(test_dist_embed_train peft_io nlohmann_json::nlohmann_json)
  target_compile_definitions(test_dist_embed_train PRIVATE PEFT_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  add_dependencies(test_dist_embed_train peft_cli)
  peft_test(test_dist_embed peft_io)
  target_compile_definitions(test_dist_embed PRIVATE PEFT_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  add_dependencies(test_dist_embed peft_cli)
endif()
if(PEFT_DIST_LIBS)
  # `mpirun -np 2/3 peft index build` and `index add` against one process.
  peft_test(test_dist_index peft_search nlohmann_json::nlohmann_json)
  target_compile_definitions(test_dist_index PRIVATE PEFT_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  add_dependencies(test_dist_index peft_cli)
endif()
