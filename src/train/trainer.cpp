#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/format.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "train/data_parallel.h"
#include "train/run_settings.h"

namespace peft {

namespace fs = std::filesystem;

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// "checkpoint-N" -> N; -1 for any other name.
int64_t checkpoint_step(const std::string& name) {
  const std::string prefix = "checkpoint-";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 || name.size() > prefix.size() + 18)
    return -1;
  int64_t n = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

}  // namespace

ResumeState parse_resume_state(const std::string& name) {
  if (name == "all") return ResumeState::All;
  if (name == "intermediate") return ResumeState::Intermediate;
  if (name == "none") return ResumeState::None;
  fail("train", "unknown optimizer-state choice '" + name + "' (use all, intermediate or none)");
}

Trainer::Trainer(LlamaModel<float>& model, DataSource& train, const DataSource* eval, const TrainOptions& o,
                 nlohmann::json run_config)
    : own_task_(std::make_unique<LlmTask>(model, train, eval, o.batch_size, o.eval_windows)),
      task_(*own_task_),
      o_(o),
      run_config_(std::move(run_config)) {
  init();
}

Trainer::Trainer(TrainTask& task, const TrainOptions& o, nlohmann::json run_config)
    : task_(task), o_(o), run_config_(std::move(run_config)) {
  init();
}

void Trainer::init() {
  if (o_.steps <= 0) fail("train", "steps must be positive");
  if (o_.batch_size <= 0) fail("train", "batch size must be positive");
  if (o_.grad_accum <= 0) fail("train", "gradient accumulation must be positive");
  if (!(o_.lr > 0)) fail("train", "learning rate must be positive");
  if (o_.save_total_limit < 0) fail("train", "the checkpoint limit must be >= 0");
  task_.visit_trainable([&](ParamRef<float>& p) { params_.push_back(p); });
  if (params_.empty()) fail("train", "the model has no trainable parameters");
  opt_ = std::make_unique<AdamW>(params_, o_.opt);
}

EvalMetrics Trainer::evaluate_metrics() {
  if (!task_.has_eval()) return {};
  return task_.evaluate();
}

double Trainer::evaluate() { return evaluate_metrics().get("eval_loss"); }

void Trainer::report_eval(const EvalMetrics& m, const std::string& when) {
  if (m.empty()) return;
  nlohmann::json j = {{"step", step_}};
  for (const auto& [k, v] : m.values) j[k] = v;
  write_metrics(j);
  if (o_.progress && comm_->is_root()) log_info("eval " + when + ": " + m.text);
}

void Trainer::write_metrics(const nlohmann::json& j) {
  if (o_.out_dir.empty() || !comm_->is_root()) return;
  const std::string path = o_.out_dir + "/metrics.jsonl";
  std::ofstream f(path, std::ios::app);
  f << j.dump() << "\n";
  f.close();
  if (!f) fail("train", "cannot write '" + path + "': " + std::strerror(errno));
}

void Trainer::print_progress(const StepRecord& r, bool final_line) {
  if (!o_.progress || log_level() < LogLevel::Info || !comm_->is_root()) return;
  std::string line = "step " + std::to_string(r.step) + "/" + std::to_string(o_.steps) + " | loss " +
                     fmt("%.4f", r.loss) + " | lr " + fmt("%.2e", r.lr) + " | grad norm " + fmt("%.3f", r.grad_norm) +
                     " | " + fmt("%.0f", r.tokens_per_second) + " tok/s" +
                     (r.texts_per_second > 0 ? " | " + fmt("%.1f", r.texts_per_second) + " texts/s" : "") + " | ETA " + format_duration(r.eta);
  if (stderr_is_tty()) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else if (final_line || r.step % std::max<int64_t>(1, o_.log_every) == 0 || r.step == 1) {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

TrainSummary Trainer::run() {
  std::vector<Adapter<float>*> adapters;
  for (Linear<float>* lin : task_.linears())
    if (lin->adapter) adapters.push_back(lin->adapter.get());
  task_.set_communicator(*comm_);
  DataParallel dp(*comm_, params_, adapters, o_.reduce_blocks);
  // The ranks initialised (or resumed) alike: the same seed, file, code.
  verify_ranks_in_sync(dp);
  comm_->set_stop_note("after step " + std::to_string(step_) + "; " + resume_hint_);
  if (!o_.out_dir.empty() && comm_->is_root()) {
    std::error_code ec;
    fs::create_directories(o_.out_dir, ec);
    if (ec) fail("train", "cannot write '" + o_.out_dir + "': " + ec.message());
  }
  TrainSummary s;
  s.eval_before = evaluate_metrics();
  s.eval_loss_before = s.eval_before.get("eval_loss");
  report_eval(s.eval_before, "before");
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t first = step_;
  int64_t tokens_done = 0, texts_done = 0;
  while (step_ < o_.steps) {
    // Draw the whole step's micro-batches first: the mean loss over all of
    // them needs the total count of scored items.
    const StepDraw draw = task_.draw_step(o_.grad_accum, o_.batch_size);
    const int64_t scored = draw.count;
    task_.zero_grad();
    // Data-parallel: this rank's rows of the step only, then the sums over
    // the ranks (all of them on one process).
    const double loss_sum = dp.run_step(task_, o_.grad_accum, o_.batch_size,
                                        1.0 / static_cast<double>(std::max<int64_t>(1, scored)), step_ + 1);
    tokens_done += task_.step_tokens();
    texts_done += task_.step_texts();
    ++step_;
    const double lr = o_.lr * schedule_factor(o_.schedule, step_, o_.steps, o_.warmup);
    const std::vector<Linear<float>*> linears = task_.linears();
    for (Linear<float>* lin : linears)
      if (lin->adapter) lin->adapter->before_optimizer_step();
    if (before_step) before_step();
    const double gnorm = opt_->step(lr);
    for (Linear<float>* lin : linears)
      if (lin->adapter) lin->adapter->after_step(lin->weight.frozen() ? lin->weight.data.get() : nullptr, step_);

    StepRecord r;
    r.step = step_;
    r.loss = loss_sum / static_cast<double>(std::max<int64_t>(1, scored));
    r.lr = lr;
    r.grad_norm = gnorm;
    r.elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double done = static_cast<double>(step_ - first);
    r.tokens_per_second = static_cast<double>(tokens_done) / std::max(1e-9, r.elapsed);
    r.texts_per_second = static_cast<double>(texts_done) / std::max(1e-9, r.elapsed);
    r.eta = r.elapsed / done * static_cast<double>(o_.steps - step_);
    losses_.push_back(r.loss);
    s.final_train_loss = r.loss;
    if (!std::isfinite(r.loss)) fail("train", "the loss became " + fmt("%f", r.loss) + " at step " + std::to_string(step_) + "; lower the learning rate");
    nlohmann::json rec = {{"step", r.step}, {"loss", r.loss}, {"lr", r.lr}, {"grad_norm", r.grad_norm},
                          {"tokens_per_second", r.tokens_per_second}, {"elapsed_s", r.elapsed},
                          {"eta_s", r.eta},
                          // Tokens since step 0: this run's, scaled to the steps before a
                          // resume (exact when every step has the same token count).
                          {"tokens", tokens_done * step_ / std::max<int64_t>(1, step_ - first)}};
    if (texts_done > 0) {
      rec["texts"] = texts_done * step_ / std::max<int64_t>(1, step_ - first);
      rec["texts_per_second"] = r.texts_per_second;
    }
    write_metrics(rec);
    print_progress(r, step_ == o_.steps);
    if (on_step) on_step(r);
    if (o_.eval_every > 0 && step_ % o_.eval_every == 0 && step_ < o_.steps && task_.has_eval()) {
      const EvalMetrics m = evaluate_metrics();
      if (stderr_is_tty() && o_.progress) std::fprintf(stderr, "\n");
      nlohmann::json j = {{"step", step_}};
      for (const auto& [k, v] : m.values) j[k] = v;
      write_metrics(j);
      if (o_.progress && comm_->is_root()) log_info("eval at step " + std::to_string(step_) + ": " + m.text);
    }
    if (o_.save_every > 0 && step_ % o_.save_every == 0 && step_ < o_.steps && !o_.out_dir.empty())
      save_step_checkpoint(false, dp);
    comm_->set_stop_note("after step " + std::to_string(step_) + "; " + resume_hint_);
  }
  s.steps = step_ - first;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.tokens = tokens_done;
  s.tokens_per_second = s.seconds > 0 ? static_cast<double>(s.tokens) / s.seconds : 0;
  s.texts = texts_done;
  s.texts_per_second = s.seconds > 0 ? static_cast<double>(s.texts) / s.seconds : 0;
  s.saved_activation_bytes = task_.last_saved_bytes();
  s.ranks = comm_->size();
  s.communication_seconds = dp.communication_seconds();
  s.allreduce_floats_per_step = comm_->size() > 1 ? dp.floats_per_step() : 0;
  s.eval_after = evaluate_metrics();
  s.eval_loss_after = s.eval_after.get("eval_loss");
  report_eval(s.eval_after, "after");
  if (!o_.out_dir.empty()) save_step_checkpoint(true, dp);
  return s;
}

void Trainer::verify_ranks_in_sync(DataParallel& dp) {
  // What a checkpoint saves: trainable tensors, optimizer moments, bases an
  // adapter writes, adapter state, the dropout generators.
  if (comm_->size() == 1) return;
  std::vector<std::pair<const void*, size_t>> spans;
  for (const ParamRef<float>& p : params_) spans.push_back({p.data, sizeof(float) * p.numel});
  for (auto& [name, vec] : opt_->state_tensors()) spans.push_back({vec->data(), sizeof(float) * vec->size()});
  for (Linear<float>* lin : task_.linears()) {
    if (!lin->adapter) continue;
    if (lin->adapter->writes_base() && lin->weight.frozen())
      spans.push_back({lin->weight.data.get(), sizeof(float) * lin->weight.numel()});
    lin->adapter->visit_state([&](ParamRef<float>& p) { spans.push_back({p.data, sizeof(float) * p.numel}); });
    if (const Rng* r = lin->adapter->dropout_rng()) spans.push_back({r, sizeof(Rng)});
  }
  dp.verify_in_sync(spans, "trainable tensors or optimizer state at step " + std::to_string(step_));
}

void Trainer::save_step_checkpoint(bool final_step, DataParallel& dp) {
  // Data-parallel: every rank checks that it holds what rank 0 is about to
  // save; rank 0 alone writes.
  verify_ranks_in_sync(dp);
  if (!comm_->is_root()) return;
  const bool resumable = o_.resume_state == ResumeState::All ||
                         (o_.resume_state == ResumeState::Intermediate && !final_step);
  // A final snapshot would only repeat what the caller writes to out_dir.
  if (final_step && !resumable) return;
  const std::string dir = o_.out_dir + "/checkpoint-" + std::to_string(step_);
  save_checkpoint(dir, resumable);
  if (resumable) resume_hint_ = "the last checkpoint is " + dir + ": continue with --resume " + dir;
  if (o_.save_total_limit > 0) prune_checkpoints(dir);
}

void Trainer::prune_checkpoints(const std::string& keep) {
  // Only folders named checkpoint-<digits> that hold a trainer_state.json
  // are ours to delete; the newest by step survive, and always `keep`.
  std::error_code ec;
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& e : fs::directory_iterator(o_.out_dir, ec)) {
    const int64_t n = checkpoint_step(e.path().filename().string());
    if (n < 0 || !e.is_directory(ec) || !fs::exists(e.path() / "trainer_state.json", ec)) continue;
    if (fs::equivalent(e.path(), keep, ec)) continue;
    found.push_back({n, e.path()});
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = static_cast<size_t>(o_.save_total_limit - 1); i < found.size(); ++i) {
    // Renamed first, so a deletion cut short never leaves a folder that
    // looks like a complete checkpoint.
    const fs::path doomed = found[i].second.string() + ".deleting";
    fs::remove_all(doomed, ec);
    fs::rename(found[i].second, doomed, ec);
    if (!ec) fs::remove_all(doomed, ec);
    if (ec) log_warn("could not delete old checkpoint '" + found[i].second.string() + "': " + ec.message());
  }
}

void Trainer::save_checkpoint(const std::string& dir, bool resumable) {
  // Build in a temporary directory, then rename over the target, so an
  // interrupted save never leaves a half-written checkpoint behind; a failed
  // one (a full disk) removes the temporary directory too.
  const std::string tmp = dir + ".tmp";
  try {
    write_checkpoint_files(tmp, resumable);
    if (on_save) on_save(tmp);
    fs::remove_all(dir);
    fs::rename(tmp, dir);
  } catch (const fs::filesystem_error& e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fail("train", "cannot write checkpoint '" + dir + "': " + e.code().message());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

void Trainer::write_checkpoint_files(const std::string& tmp, bool resumable) {
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  DataPosition pos = task_.position();
  nlohmann::json j;
  j["format"] = "peft.cpp checkpoint 1";
  j["step"] = step_;
  j["resumable"] = resumable;
  j["optimizer_step"] = opt_->steps_done();
  j["data"] = {{"epoch", pos.epoch}, {"index", pos.index}, {"rng0", pos.rng0}, {"rng1", pos.rng1}};
  j["losses"] = losses_;
  j["run_config"] = run_config_;
  if (!resumable) {
    write_file_atomic(tmp + "/trainer_state.json", j.dump(2) + "\n");
    return;
  }
  SafetensorsWriter params, state;
  for (const ParamRef<float>& p : params_)
    params.add(p.name, Tensor::view(DType::F32, p.shape, p.data, nullptr));
  for (auto& [name, vec] : opt_->state_tensors())
    state.add(name, Tensor::view(DType::F32, {static_cast<int64_t>(vec->size())}, vec->data(), nullptr));
  // Base weights that an adapter writes into (Delta-LoRA) are part of the state.
  for (Linear<float>* lin : task_.linears())
    if (lin->adapter && lin->adapter->writes_base() && lin->weight.frozen())
      state.add("base." + lin->weight.name, Tensor::view(DType::F32, lin->weight.shape, lin->weight.data.get(), nullptr));
  // Adapter state that is not trainable but needed for an exact resume
  // (Delta-LoRA's anchors), and the dropout generators.
  nlohmann::json rngs = nlohmann::json::object();
  for (Linear<float>* lin : task_.linears()) {
    if (!lin->adapter) continue;
    lin->adapter->visit_state([&](ParamRef<float>& p) {
      state.add("adapter." + p.name, Tensor::view(DType::F32, p.shape, p.data, nullptr));
    });
    if (Rng* r = lin->adapter->dropout_rng()) rngs[lin->info.name] = {r->state0(), r->state1()};
  }
  params.write(tmp + "/trainable.safetensors");
  state.write(tmp + "/optimizer.safetensors");
  j["dropout_rngs"] = rngs;
  write_file_atomic(tmp + "/trainer_state.json", j.dump(2) + "\n");
}

void Trainer::load_checkpoint(const std::string& dir) {
  std::string state_path = dir + "/trainer_state.json";
  if (!fs::exists(state_path)) fail("train", "'" + dir + "' is not a checkpoint (no trainer_state.json)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file_bytes(state_path));
  } catch (const nlohmann::json::exception& e) {
    fail("train", state_path + ": " + e.what());
  }
  if (!j.value("resumable", true))
    fail("train", "cannot resume from '" + dir + "': it was saved without the optimizer state (--save-optimizer-state)");
  // The run configuration must match, except what may change on resume.
  check_resume_settings(j.value("run_config", nlohmann::json::object()), run_config_, dir);
  auto params = SafetensorsFile::open(dir + "/trainable.safetensors");
  for (ParamRef<float>& p : params_) {
    if (!params->has(p.name)) fail("train", "checkpoint '" + dir + "' has no tensor '" + p.name + "'");
    Tensor t = params->tensor(p.name);
    if (t.shape() != p.shape || t.dtype() != DType::F32)
      fail("train", "checkpoint tensor '" + p.name + "' has shape " + shape_str(t.shape()) + ", expected " + shape_str(p.shape));
    std::memcpy(p.data, t.data(), sizeof(float) * p.numel);
  }
  auto state = SafetensorsFile::open(dir + "/optimizer.safetensors");
  std::map<std::string, std::vector<float>> moments;
  for (const std::string& name : state->names()) {
    Tensor t = state->tensor(name).to_f32();
    if (name.rfind("adapter.", 0) == 0) continue;  // restored below
    if (name.rfind("base.", 0) == 0) {
      for (Linear<float>* lin : task_.linears())
        if ("base." + lin->weight.name == name && t.numel() == lin->weight.numel())
          std::memcpy(lin->weight.data.get(), t.data(), sizeof(float) * t.numel());
      continue;
    }
    moments[name] = std::vector<float>(t.ptr<float>(), t.ptr<float>() + t.numel());
  }
  opt_->load_state(moments, j.at("optimizer_step").get<int64_t>());
  const nlohmann::json rngs = j.value("dropout_rngs", nlohmann::json::object());
  for (Linear<float>* lin : task_.linears()) {
    if (!lin->adapter) continue;
    lin->adapter->visit_state([&](ParamRef<float>& p) {
      std::string key = "adapter." + p.name;
      if (!state->has(key)) fail("train", "checkpoint '" + dir + "' has no adapter state '" + p.name + "'");
      Tensor t = state->tensor(key).to_f32();
      if (t.numel() != p.numel) fail("train", "checkpoint adapter state '" + p.name + "' has the wrong size");
      std::memcpy(p.data, t.data(), sizeof(float) * p.numel);
    });
    lin->adapter->state_restored();
    if (Rng* r = lin->adapter->dropout_rng()) {
      if (!rngs.contains(lin->info.name)) fail("train", "checkpoint '" + dir + "' has no dropout state for " + lin->info.name);
      r->set_state(rngs[lin->info.name][0].get<uint64_t>(), rngs[lin->info.name][1].get<uint64_t>());
    }
  }
  step_ = j.at("step").get<int64_t>();
  DataPosition pos;
  pos.epoch = j["data"]["epoch"];
  pos.index = j["data"]["index"];
  pos.rng0 = j["data"]["rng0"];
  pos.rng1 = j["data"]["rng1"];
  task_.restore(pos);
  losses_ = j.value("losses", std::vector<double>{});
  resume_hint_ = "the last checkpoint is " + dir + ": continue with --resume " + dir;
  if (step_ > o_.steps) fail("train", "the checkpoint is at step " + std::to_string(step_) + ", past --steps " + std::to_string(o_.steps));
}

}  // namespace peft
