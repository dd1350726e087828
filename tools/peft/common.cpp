#include "common.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "core/threads.h"
#include "dist/communicator.h"
#include "io/atomic_file.h"

namespace peft::cli {

void add_common_options(CLI::App& app, CommonOptions& o) {
  app.add_option("--threads", o.threads, "Worker threads; 0 = OMP_NUM_THREADS if set, else all cores")->check(kNonNegative);
  app.add_flag("-q,--quiet", o.quiet, "Print only results, no progress");
}

void add_base_dtype_option(CLI::App& app, std::string& value) {
  // PEFT_BASE_DTYPE changes the default (the test suite pins f32 with it, so
  // exact comparisons hold on machines whose auto would pick bf16).
  if (const char* env = std::getenv("PEFT_BASE_DTYPE"); env && *env) value = env;
  app.add_option("--base-dtype", value,
                 "How the frozen base matrices are held: auto (the file's type; f32 files as bf16 where the CPU has "
                 "bf16 instructions, else f32), f32, bf16, or keep (the file's type). Default: $PEFT_BASE_DTYPE, "
                 "else auto")
      ->default_str(value);
}

namespace {

std::string mib(int64_t b) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MiB", static_cast<double>(b) / (1024.0 * 1024.0));
  return s;
}

}  // namespace

void log_base_storage(const Pretrained& p) {
  std::map<std::string, int64_t> bytes;
  bool any_stored = false;
  for (Param<float>* q : p.model->base_params()) {
    bytes[dtype_name(q->storage_type())] += q->value_bytes();
    any_stored = any_stored || q->is_stored();
  }
  if (!any_stored) return;  // all f32: what peft always did, nothing to say
  std::string line = "base weights held as";
  for (auto& [t, b] : bytes) line += " " + t + " " + mib(b) + ",";
  line.pop_back();
  log_info(line);
}

namespace {

CLI::Validator bound(double lo, bool strict) {
  char name[48];
  std::snprintf(name, sizeof name, "%s%g", strict ? ">" : ">=", lo);
  return CLI::Validator(
      [lo, strict](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end == s.c_str() || *end != '\0') return {};  // not a number: the conversion says so
        if (strict ? v > lo : v >= lo) return {};
        char msg[96];
        std::snprintf(msg, sizeof msg, "must be %s %g, got %s", strict ? ">" : ">=", lo, s.c_str());
        return msg;
      },
      name);
}

}  // namespace

CLI::Validator at_least(double lo) { return bound(lo, false); }
CLI::Validator greater_than(double lo) { return bound(lo, true); }

void apply_common_options(const CommonOptions& o) {
  set_threads(o.threads);
  // In a data-parallel job only rank 0 reports progress.
  if (o.quiet || !world().is_root()) set_log_level(LogLevel::Quiet);
}

void check_model_output(const std::string& out, const std::string& area) {
  const std::string ext = ".gguf";
  if (out.size() >= ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0)
    check_file_writable(out, area);
  else
    check_dir_writable(out, area);
}

std::vector<AdapterSpec> check_adapter_folders(const std::vector<std::string>& args) {
  std::vector<AdapterSpec> specs;
  for (const std::string& a : args) {
    AdapterSpec s = parse_adapter_spec(a);
    std::error_code ec;
    if (!std::filesystem::is_directory(s.dir, ec))
      fail("adapters", "'" + s.dir + "' is not a folder (--adapter takes a PEFT adapter folder)");
    if (!std::filesystem::exists(std::filesystem::path(s.dir) / "adapter_config.json", ec))
      fail("adapters", "'" + s.dir + "' has no adapter_config.json (not a PEFT adapter folder)");
    specs.push_back(s);
  }
  return specs;
}

}  // namespace peft::cli
