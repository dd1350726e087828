// NumPy's .npy format, version 1.0, for float32 matrices: what Python users
// read with numpy.load. Layout:
//   "\x93NUMPY" 0x01 0x00, header length (uint16, little endian), then the
//   header, a Python dict literal
//     {'descr': '<f4', 'fortran_order': False, 'shape': (rows, cols), }
//   padded with spaces and ended with '\n' so that the data starts at a
//   multiple of 64 bytes; then rows·cols little-endian float32, row-major.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace peft {

// The whole file's bytes for a [rows, cols] float32 matrix.
std::string npy_f32_bytes(const float* data, int64_t rows, int64_t cols);
// Writes it atomically (temp name, then rename). Throws InputError "[io] ...".
void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols);

struct NpyMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;  // [rows, cols]
};
// Reads a 2-D little-endian float32 C-order .npy (version 1.0 or 2.0).
// Throws InputError "[io] <path>: ..." for anything else.
NpyMatrix read_npy_f32(const std::string& path);

}  // namespace peft
