#include "train/method.h"

#include "adapters/registry.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/hf_names.h"

namespace peft {

const std::vector<std::string>& train_methods() {
  static const std::vector<std::string> m = [] {
    std::vector<std::string> v;
    for (const MethodSpec* s : all_methods()) v.push_back(s->name);
    return v;
  }();
  return m;
}

bool is_adapter_method(const std::string& method) { return !method_spec(method).trains_base; }

std::vector<PeftLayer> peft_layers_of(LlamaModel<float>& model, bool gguf_row_order) {
  std::vector<PeftLayer> r;
  for (Linear<float>* lin : model.all_linears()) {
    PeftLayer pl;
    pl.info = lin->info;
    if (gguf_row_order && (lin->info.module == "q" || lin->info.module == "k")) {
      int64_t heads = lin->info.module == "q" ? model.cfg.n_heads : model.cfg.n_kv_heads;
      pl.hf_rows = gguf_to_hf_rows(lin->info.out, heads);
    }
    r.push_back(std::move(pl));
  }
  return r;
}

std::unique_ptr<MethodSetup> setup_method(const ModelView& model, const std::string& method,
                                          const AdapterConfig& adapter_in) {
  const MethodSpec& spec = method_spec(method);
  auto s = std::make_unique<MethodSetup>();
  s->method = spec.name;
  s->total = model.parameter_count;
  if (spec.trains_base) {
    model.set_base_trainable(true);
  } else {
    AdapterConfig cfg = adapter_in;
    cfg.method = spec.name;
    validate_adapter_config(cfg);
    model.set_base_trainable(false);
    const std::vector<PeftLayer>& all = model.layers;
    const std::vector<Linear<float>*>& lins = model.linears;
    std::vector<LinearInfo> targeted;
    for (size_t i = 0; i < lins.size(); ++i)
      if (target_matches(cfg, lins[i]->info)) targeted.push_back(lins[i]->info);
    check_targets_matched(cfg, static_cast<int64_t>(targeted.size()));
    if (spec.shared_projections) s->vera = make_vera_shared<float>(cfg, targeted);
    Rng rng(cfg.seed);
    for (size_t i = 0; i < lins.size(); ++i) {
      if (!target_matches(cfg, lins[i]->info)) continue;
      // PiSSA reads and rewrites W: it gets an f32 copy of a stored base.
      if (adapter_rewrites_base(cfg)) lins[i]->weight.materialize();
      lins[i]->adapter =
          make_adapter<float>(cfg, lins[i]->info, lins[i]->weight.data.get(), s->vera.get(), rng, all[i].hf_rows);
      // PiSSA starts from the top singular directions of W: the base becomes
      // the residual W − s·BA so the adapted model starts equal to the base.
      if (adapter_rewrites_base(cfg)) lins[i]->adapter->unmerge_from(lins[i]->weight.data.get());
      // Delta-LoRA adds its update into W every step: W must be f32.
      if (lins[i]->adapter->writes_base()) lins[i]->weight.materialize();
      s->layers.push_back(all[i]);
    }
    s->adapter = cfg;
  }
  model.visit_trainable([&](ParamRef<float>& p) { s->trainable += p.numel; });
  return s;
}

std::unique_ptr<MethodSetup> setup_method(LlamaModel<float>& model, const std::string& method,
                                          const AdapterConfig& adapter_in, bool gguf_row_order) {
  ModelView v;
  v.linears = model.all_linears();
  v.layers = peft_layers_of(model, gguf_row_order);
  v.set_base_trainable = [&](bool t) { model.set_base_trainable(t); };
  v.visit_trainable = [&](const ParamVisitor<float>& f) { model.visit_trainable(f); };
  v.parameter_count = model.parameter_count();
  return setup_method(v, method, adapter_in);
}

std::vector<std::pair<PeftLayer, const Adapter<float>*>> adapted_layers(const std::vector<Linear<float>*>& linears,
                                                                        const MethodSetup& s) {
  std::vector<std::pair<PeftLayer, const Adapter<float>*>> r;
  for (const PeftLayer& pl : s.layers)
    for (Linear<float>* lin : linears)
      if (lin->info.name == pl.info.name) r.push_back({pl, lin->adapter.get()});
  return r;
}

std::vector<std::pair<PeftLayer, const Adapter<float>*>> adapted_layers(LlamaModel<float>& model,
                                                                        const MethodSetup& s) {
  return adapted_layers(model.all_linears(), s);
}

}  // namespace peft
