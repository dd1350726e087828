#include "tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/chat_template/formatter.h"
#include "tokenizer/chat_template/interpreter.h"
#include "tokenizer/chat_template/parser.h"

namespace peft {

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("template", path + ": cannot open file");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail("template", path + ": read error");
  return ss.str();
}

// bos_token / eos_token in tokenizer_config.json: a string or an
// AddedToken object {"content": ...}.
std::string token_text(const nlohmann::ordered_json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return "";
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

ChatTemplate ChatTemplate::from_string(const std::string& source, const std::string& name) {
  ChatTemplate t;
  t.name_ = name;
  t.source_ = source;
  try {
    t.nodes_ = std::make_shared<const jinja::NodeList>(jinja::parse_template(source));
  } catch (const jinja::SyntaxError& e) {
    fail("template", name + ":" + std::to_string(e.line) + ": " + one_line(e.message));
  }
  return t;
}

ChatTemplate ChatTemplate::from_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::path dir(path);
    if (fs::exists(dir / "chat_template.jinja", ec)) {
      ChatTemplate t = from_file((dir / "chat_template.jinja").string());
      if (fs::exists(dir / "tokenizer_config.json", ec)) {
        // Special tokens still live in the config.
        try {
          auto cfg = nlohmann::ordered_json::parse(read_text((dir / "tokenizer_config.json").string()));
          if (cfg.is_object()) {
            t.bos_token_ = token_text(cfg, "bos_token");
            t.eos_token_ = token_text(cfg, "eos_token");
          }
        } catch (const nlohmann::ordered_json::exception&) {
        }
      }
      return t;
    }
    if (fs::exists(dir / "tokenizer_config.json", ec)) return from_file((dir / "tokenizer_config.json").string());
    fail("template", path + ": directory has neither chat_template.jinja nor tokenizer_config.json");
  }
  std::string text = read_text(path);
  bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (!is_json) return from_string(text, path);

  nlohmann::ordered_json cfg;
  try {
    cfg = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::ordered_json::exception& e) {
    fail("template", path + ": not valid JSON: " + one_line(e.what()));
  }
  if (!cfg.is_object()) fail("template", path + ": expected a JSON object");
  auto it = cfg.find("chat_template");
  if (it == cfg.end() || it->is_null()) fail("template", path + ": has no chat_template");
  std::string source;
  if (it->is_string()) {
    source = it->get<std::string>();
  } else if (it->is_array()) {
    // Several named templates (e.g. default, tool_use, rag): use "default".
    std::string names;
    bool found = false;
    for (auto& e : *it) {
      if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") ||
          !e["template"].is_string())
        fail("template", path + ": chat_template list entries must be {name, template} strings");
      std::string n = e["name"].get<std::string>();
      names += (names.empty() ? "" : ", ") + n;
      if (n == "default" && !found) {
        source = e["template"].get<std::string>();
        found = true;
      }
    }
    if (!found) fail("template", path + ": no chat_template named 'default' (has: " + names + ")");
  } else {
    fail("template", path + ": chat_template must be a string or a list of {name, template}");
  }
  ChatTemplate t = from_string(source, path);
  t.bos_token_ = token_text(cfg, "bos_token");
  t.eos_token_ = token_text(cfg, "eos_token");
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context, const ChatRenderOptions& options) const {
  if (!nodes_) fail("template", "render called on an empty ChatTemplate");
  if (!context.is_object()) fail("template", name_ + ": the context must be a JSON object of variables");
  jinja::Value ctx = jinja::Value::from_json(context);
  jinja::Interpreter in(options.now, {options.max_steps, options.max_bytes});
  try {
    std::string text = in.render(*nodes_, ctx.obj());
    if (options.generation_spans) *options.generation_spans = in.generation_spans();
    return text;
  } catch (const jinja::RaisedError& e) {
    fail("template", e.what());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    fail("template", name_ + ":" + std::to_string(in.line()) + ": " + one_line(e.what()));
  }
}

std::string ChatTemplate::apply(nlohmann::ordered_json context, const ChatApplyOptions& o) const {
  if (!context.is_object()) fail("template", name_ + ": the context must be a JSON object of variables");
  if (o.add_generation_prompt || !context.contains("add_generation_prompt"))
    context["add_generation_prompt"] = o.add_generation_prompt;
  auto token = [&](const char* key, const std::optional<std::string>& flag, const std::string& from_config) {
    if (flag) context[key] = *flag;
    else if (!context.contains(key) && !from_config.empty()) context[key] = from_config;
  };
  token("bos_token", o.bos_token, bos_token_);
  token("eos_token", o.eos_token, eos_token_);
  return render(context, o.render);
}

std::string ChatTemplate::format() const {
  if (!nodes_) fail("template", "format called on an empty ChatTemplate");
  return jinja::format_template(*nodes_);
}

nlohmann::ordered_json load_chat_context(const std::string& path) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(read_text(path));
  } catch (const nlohmann::ordered_json::exception& e) {
    fail("template", path + ": not valid JSON: " + one_line(e.what()));
  }
  if (j.is_array()) return nlohmann::ordered_json{{"messages", std::move(j)}};
  if (!j.is_object()) fail("template", path + ": expected a JSON array of messages or an object with 'messages'");
  auto m = j.find("messages");
  if (m == j.end()) fail("template", path + ": the object has no 'messages'");
  if (!m->is_array()) fail("template", path + ": 'messages' must be an array");
  return j;
}

std::string ChatTemplate::render(const nlohmann::json& context, const ChatRenderOptions& options) const {
  return render(nlohmann::ordered_json(context), options);
}

}  // namespace peft
