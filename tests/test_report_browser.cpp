// The report of a real short run rendered by headless Chromium
// (scripts/render-page.sh, the path docs/screenshots.sh makes the README's
// pictures with): the page's script must finish without errors and the
// screenshot must not be blank. Needs the CTest fixture "browser".
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "test_util.h"

namespace peft::test {
namespace {

struct Image {
  int64_t w = 0, h = 0;
  int channels = 0;
  std::vector<uint8_t> px;  // rows of w * channels bytes
};

uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

// A minimal PNG reader for what Chromium writes: 8-bit RGB or RGBA, not
// interlaced. IDAT chunks are joined and inflated, then each row is
// unfiltered (PNG filters 0-4: none, sub, up, average, Paeth).
Image read_png(const std::string& bytes) {
  Image im;
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 8 || std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0) throw std::runtime_error("not a PNG");
  std::string idat;
  int depth = 0, type = 0, interlace = 0;
  for (size_t p = 8; p + 12 <= bytes.size();) {
    const uint32_t len = be32(b + p);
    const std::string kind(bytes.data() + p + 4, 4);
    const uint8_t* d = b + p + 8;
    if (kind == "IHDR") {
      im.w = be32(d);
      im.h = be32(d + 4);
      depth = d[8];
      type = d[9];
      interlace = d[12];
    } else if (kind == "IDAT") {
      idat.append(reinterpret_cast<const char*>(d), len);
    }
    p += 12 + len;
  }
  if (depth != 8 || (type != 2 && type != 6) || interlace != 0) throw std::runtime_error("unexpected PNG format");
  im.channels = type == 6 ? 4 : 3;
  const size_t stride = static_cast<size_t>(im.w) * im.channels;
  std::vector<uint8_t> raw((stride + 1) * static_cast<size_t>(im.h));
  uLongf n = raw.size();
  if (uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK || n != raw.size())
    throw std::runtime_error("bad PNG data");
  im.px.resize(stride * static_cast<size_t>(im.h));
  const int bpp = im.channels;
  for (int64_t y = 0; y < im.h; ++y) {
    const uint8_t f = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &im.px[y * stride];
    const uint8_t* up = y > 0 ? &im.px[(y - 1) * stride] : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<size_t>(bpp) ? out[x - bpp] : 0;
      const int u = up ? up[x] : 0;
      const int c = (up && x >= static_cast<size_t>(bpp)) ? up[x - bpp] : 0;
      int pred = 0;
      switch (f) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = u; break;
        case 3: pred = (a + u) / 2; break;
        case 4: {
          const int p = a + u - c, pa = std::abs(p - a), pb = std::abs(p - u), pc = std::abs(p - c);
          pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? u : c);
          break;
        }
        default: throw std::runtime_error("bad PNG filter");
      }
      out[x] = static_cast<uint8_t>(in[x] + pred);
    }
  }
  return im;
}

struct Look {
  size_t colours = 0;     // distinct RGB values
  double not_background = 0;  // share of pixels unlike the top-left one
};

Look look(const Image& im) {
  std::set<uint32_t> cs;
  int64_t differ = 0;
  const uint8_t* bg = im.px.data();
  for (int64_t i = 0; i < im.w * im.h; ++i) {
    const uint8_t* p = &im.px[i * im.channels];
    cs.insert((uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]);
    differ += p[0] != bg[0] || p[1] != bg[1] || p[2] != bg[2];
  }
  return {cs.size(), static_cast<double>(differ) / static_cast<double>(im.w * im.h)};
}

std::string browser() {
  const char* b = std::getenv("PEFT_BROWSER");
  if (!b || !*b) ADD_FAILURE() << "PEFT_BROWSER is not set (the CTest fixture 'browser' sets it up)";
  return b ? b : "";
}

CliResult render(const std::string& page, const std::string& png) {
  return run_program("/bin/bash", {std::string(PEFT_SOURCE_DIR) + "/scripts/render-page.sh", page, png, "1200,1400", browser()});
}

TEST(ReportBrowser, RealRunRendersWithoutErrorsAndIsNotBlank) {
  const std::string d = temp_dir("report_browser");
  CliResult t = run_cli({"train", "-m", shared_path("models/stories260K.gguf"), "-d",
                         shared_path("data/tinyshakespeare/input.txt"), "--steps", "6", "--seq-len", "32", "-b", "2",
                         "--eval-windows", "2", "--eval-every", "3", "--targets", "all-linear", "-q", "-o", d + "/run"});
  ASSERT_EQ(t.rc, 0) << t.err;
  CliResult r = run_cli({"report", d + "/run", "-o", d + "/report.html"});
  ASSERT_EQ(r.rc, 0) << r.err;
  CliResult shot = render(d + "/report.html", d + "/report.png");
  ASSERT_EQ(shot.rc, 0) << shot.err;
  const Look l = look(read_png(read_file(d + "/report.png")));
  EXPECT_GT(l.colours, 50u);
  EXPECT_GT(l.not_background, 0.01);
}

TEST(ReportBrowser, EmbeddingRunRendersWithoutErrorsAndIsNotBlank) {
  // A run folder in the format of peft train --task embedding (the golden
  // embedding_eval.json of test_report_embedding): histograms, PCA and
  // metric bars drawn by Chromium.
  const std::string d = temp_dir("report_browser_emb");
  std::filesystem::create_directories(d + "/emb");
  std::string m = "{\"step\":0,\"ndcg@10\":0.30,\"mrr@10\":0.25}\n";
  for (int s = 1; s <= 8; ++s)
    m += "{\"step\":" + std::to_string(s) + ",\"loss\":" + std::to_string(2.0 - 0.1 * s) + ",\"tokens\":" +
         std::to_string(500 * s) + "}\n";
  m += "{\"step\":8,\"ndcg@10\":0.42,\"mrr@10\":0.37}\n";
  write_file(d + "/emb/metrics.jsonl", m);
  write_file(d + "/emb/summary.json", "{\"task\":\"embedding\",\"method\":\"lora\",\"steps\":8}");
  write_file(d + "/emb/embedding_eval.json",
             read_file(std::string(PEFT_SOURCE_DIR) + "/tests/data/report_embedding/embedding_eval.json"));
  CliResult r = run_cli({"report", d + "/emb", "-o", d + "/report.html", "--no-heatmap"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string html = read_file(d + "/report.html");
  ASSERT_NE(html.find("data-chart=\"pca\""), std::string::npos);
  ASSERT_NE(html.find("data-chart=\"cosine-histogram\""), std::string::npos);
  CliResult shot = render(d + "/report.html", d + "/report.png");
  ASSERT_EQ(shot.rc, 0) << shot.err;
  const Look l = look(read_png(read_file(d + "/report.png")));
  EXPECT_GT(l.colours, 50u);
  EXPECT_GT(l.not_background, 0.01);
}

TEST(ReportBrowser, AScriptErrorOrABlankPageIsCaught) {
  const std::string d = temp_dir("report_browser_bad");
  // The same marker protocol as the report, with an error after it loads.
  write_file(d + "/error.html",
             "<!DOCTYPE html><html><head><script>document.documentElement.setAttribute('data-report-status','loading');"
             "window.addEventListener('error',function(e){document.documentElement.setAttribute('data-report-status',"
             "'error: '+e.message);});</script></head><body><p>x</p><script>nosuch();"
             "document.documentElement.setAttribute('data-report-status','ok 0');</script></body></html>");
  CliResult e = render(d + "/error.html", d + "/error.png");
  EXPECT_EQ(e.rc, 2);
  EXPECT_NE(e.err.find("nosuch"), std::string::npos) << e.err;
  // A page that says it is fine but draws nothing: the PNG check must see it.
  write_file(d + "/blank.html", "<!DOCTYPE html><html data-report-status=\"ok 0\"><body></body></html>");
  CliResult b = render(d + "/blank.html", d + "/blank.png");
  ASSERT_EQ(b.rc, 0) << b.err;
  const Look l = look(read_png(read_file(d + "/blank.png")));
  EXPECT_LE(l.colours, 2u);
  EXPECT_LT(l.not_background, 0.001);
}

}  // namespace
}  // namespace peft::test
