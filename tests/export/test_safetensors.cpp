// safetensors writer and strict reader: round trip, the published byte layout, an independent
// reader (Python + numpy), and every malformed variant the fuzzer will try -> Error, no crash.
#include <QCryptographicHash>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "souplab/error.h"
#include "engine/core/safetensors.h"
#include "export_test_util.h"

using namespace souplab;

namespace {

const char* kSrc = "<fuzz>";

// A file from raw header text and data bytes; the header is padded like the writer does.
std::string make_file(std::string header, const std::string& data, bool pad = true) {
  if (pad) header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// Parses and expects an Error whose message starts with the source name.
void expect_error(const std::string& bytes, const char* why) {
  try {
    parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), kSrc);
  } catch (const Error& e) {
    QVERIFY2(std::string(e.what()).rfind(std::string(kSrc) + ": ", 0) == 0, e.what());
    return;
  } catch (const std::exception& e) {
    QFAIL(qPrintable(QString("%1: threw a non-souplab exception: %2").arg(why, e.what())));
  }
  QFAIL(qPrintable(QString("%1: parsed without an Error").arg(why)));
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void round_trip_all_dtypes() {
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/t.safetensors").toStdString();
    const auto a = random_floats(12, 1);
    const std::vector<float> scalar = {3.25f};
    const std::vector<uint8_t> bytes = {0, 1, 2, 255, 7};
    const std::vector<int64_t> longs = {-1, INT64_MAX, 42};
    const std::vector<double> doubles = {1e300, -0.5};
    const std::vector<uint16_t> halves = {0x3c00, 0xc000, 0x7bff};
    std::vector<TensorView> views = {{"b.matrix", DType::kF32, {3, 4}, a.data()},
                                     {"a.scalar", DType::kF32, {}, scalar.data()},
                                     {"bytes", DType::kU8, {5}, bytes.data()},
                                     {"longs", DType::kI64, {3}, longs.data()},
                                     {"doubles", DType::kF64, {2, 1}, doubles.data()},
                                     {"halves", DType::kF16, {3}, halves.data()},
                                     {"empty", DType::kF32, {0, 3}, nullptr}};
    const SafetensorsMetadata meta = {{"format", "pt"}, {"note", "domänen \"quoted\" \n"}};
    write_safetensors(path, views, meta);
    const SafetensorsFile f = read_safetensors(path);
    QCOMPARE(f.tensors().size(), views.size());
    QVERIFY(f.integrity() == Integrity::kVerified);
    SafetensorsMetadata read_meta = f.metadata();
    QVERIFY(read_meta.erase(kTensorChecksumsKey) == 1 && read_meta.erase(kHeaderChecksumKey) == 1);
    QVERIFY(read_meta == meta);
    for (const auto& v : views) {
      const SafetensorsEntry& e = f.at(v.name);
      QCOMPARE(int(e.dtype), int(v.dtype));
      QVERIFY(e.shape == v.shape);
      const size_t n = e.end - e.begin;
      QCOMPARE(int64_t(n), e.numel * int64_t(dtype_size(v.dtype)));
      if (n) QVERIFY(std::memcmp(f.data(e), v.data, n) == 0);
    }
    QVERIFY(f.to_f32("b.matrix") == a);
    QVERIFY_THROWS_EXCEPTION(Error, f.to_f32("bytes"));
    QVERIFY_THROWS_EXCEPTION(Error, f.at("nope"));
    // Every tensor is aligned to its element size: larger elements first.
    for (const auto& e : f.tensors()) QCOMPARE(e.begin % dtype_size(e.dtype), size_t(0));
  }

  void byte_layout() {
    const auto a = random_floats(6, 2), b = random_floats(5, 3), c = random_floats(1, 4);
    const std::string file = encode_safetensors(
        {{"h.1.w", DType::kF32, {2, 3}, a.data()}, {"h.0.w", DType::kF32, {5}, b.data()}, {"ZZ", DType::kF32, {1}, c.data()}},
        {{"k", "v"}});
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(file[size_t(i)]);  // little-endian
    QVERIFY(8 + n <= file.size());
    QCOMPARE((8 + n) % 8, uint64_t(0));
    const std::string header = file.substr(8, n);
    QCOMPARE(header.front(), '{');
    const size_t close = header.find_last_of('}');
    QVERIFY(header.find_first_not_of(' ', close + 1) == std::string::npos);  // space padding only
    const auto j = nlohmann::ordered_json::parse(header);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    QVERIFY((keys == std::vector<std::string>{"__metadata__", "ZZ", "h.0.w", "h.1.w"}));
    QCOMPARE(j["__metadata__"]["k"].get<std::string>(), std::string("v"));
    // Data in name order, contiguous from 0.
    QVERIFY((j["ZZ"]["data_offsets"] == nlohmann::ordered_json::array({0, 4})));
    QVERIFY((j["h.0.w"]["data_offsets"] == nlohmann::ordered_json::array({4, 24})));
    QVERIFY((j["h.1.w"]["data_offsets"] == nlohmann::ordered_json::array({24, 48})));
    QCOMPARE(j["h.1.w"]["dtype"].get<std::string>(), std::string("F32"));
    QVERIFY((j["h.1.w"]["shape"] == nlohmann::ordered_json::array({2, 3})));
    QCOMPARE(file.size(), size_t(8 + n + 48));
    QVERIFY(std::memcmp(file.data() + 8 + n + 24, a.data(), 24) == 0);
  }

  void independent_python_reader() {
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/p.safetensors").toStdString();
    const auto a = random_floats(300, 5), b = random_floats(7, 6);
    std::vector<TensorView> views = {{"wte.weight", DType::kF32, {30, 10}, a.data()},
                                     {"h.0.ln_1.bias", DType::kF32, {7}, b.data()}};
    write_safetensors(path, views, {{"domain_weights", "{\"code\":0.25,\"prose\":0.75}"}});
    const auto r = export_test::run_process(export_test::kPython,
                                            {export_test::script_path("read_safetensors.py"), QString::fromStdString(path)});
    QVERIFY2(r.started, "cannot start /usr/bin/python3 (apt-get install python3-numpy)");
    QVERIFY2(r.exit_code == 0, r.err.constData());
    const auto j = nlohmann::json::parse(r.out.toStdString());
    QCOMPARE(j["metadata"]["domain_weights"].get<std::string>(), std::string("{\"code\":0.25,\"prose\":0.75}"));
    QVERIFY((j["keys"] == nlohmann::json::array({"__metadata__", "h.0.ln_1.bias", "wte.weight"})));
    for (const auto& v : views) {
      const auto& t = j["tensors"][v.name];
      QCOMPARE(t["dtype"].get<std::string>(), std::string("F32"));
      QVERIFY(t["shape"].get<std::vector<int64_t>>() == v.shape);
      const float* f = static_cast<const float*>(v.data);
      size_t n = 1;
      for (auto d : v.shape) n *= size_t(d);
      double sum = 0;
      for (size_t i = 0; i < n; ++i) sum += f[i];
      QVERIFY(std::abs(t["sum"].get<double>() - sum) < 1e-9 * (1 + std::abs(sum)));
      const auto vals = t["values"].get<std::vector<double>>();
      for (size_t i = 0; i < 4; ++i) QCOMPARE(float(vals[i]), f[i]);  // exact
      QCOMPARE(float(vals[4]), f[n - 1]);
      const QByteArray sha = QCryptographicHash::hash(QByteArray(static_cast<const char*>(v.data), qsizetype(n * 4)),
                                                      QCryptographicHash::Sha256).toHex();
      QCOMPARE(QString::fromStdString(t["sha256"].get<std::string>()), QString::fromLatin1(sha));
    }
  }

  void malformed_inputs_are_errors() {
    const float v[3] = {1, 2, 3};
    const std::string data(reinterpret_cast<const char*>(v), 12);
    const std::string good = encode_safetensors({{"a", DType::kF32, {1}, v}, {"b", DType::kF32, {2}, v + 1}}, {{"m", "x"}});
    parse_safetensors(reinterpret_cast<const uint8_t*>(good.data()), good.size(), kSrc);  // sanity
    for (size_t len = 0; len < good.size(); ++len) expect_error(good.substr(0, len), "truncated");
    expect_error(good + "x", "trailing byte");

    auto with_len = [&](uint64_t n) {
      std::string f = good;
      for (int i = 0; i < 8; ++i) f[size_t(i)] = char((n >> (8 * i)) & 0xff);
      return f;
    };
    expect_error(with_len(0), "header length 0");
    expect_error(with_len(UINT64_MAX), "header length 2^64-1");
    expect_error(with_len(uint64_t(1) << 63), "header length 2^63");
    expect_error(with_len(100'000'001), "header length over 100 MB");
    expect_error(with_len(good.size() - 7), "header length one past the end");

    const std::string t = R"("t":{"dtype":"F32","shape":[3],"data_offsets":[0,12]})";
    parse_safetensors(reinterpret_cast<const uint8_t*>(make_file("{" + t + "}", data).data()),
                      make_file("{" + t + "}", data).size(), kSrc);  // sanity of the helper
    expect_error(make_file("[" + t + "]", data), "not an object");
    expect_error(make_file("{" + t, data), "unterminated JSON");
    expect_error(make_file("{" + t + "}x", data), "garbage after JSON");
    expect_error(make_file(" {" + t + "}", data), "leading space");
    expect_error(make_file("{\"t\xff\":1}", ""), "invalid UTF-8");
    // Readers must not insist on the writer's padding: an unpadded header is still valid.
    const std::string unpadded = make_file("{" + t + "} ", data, false);
    QCOMPARE(parse_safetensors(reinterpret_cast<const uint8_t*>(unpadded.data()), unpadded.size(), kSrc).tensors().size(),
             size_t(1));
  }

  void malformed_tensor_entries_are_errors() {
    const std::string d12(12, '\x01');
    auto one = [&](const std::string& entry, const std::string& data) {
      return make_file("{\"t\":" + entry + "}", data);
    };
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,16]})", d12), "end past the data");
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[4,16]})", std::string(16, 'x')), "hole at start");
    expect_error(one(R"({"dtype":"F64","shape":[3],"data_offsets":[0,12]})", d12), "dtype size mismatch");
    expect_error(one(R"({"dtype":"F33","shape":[3],"data_offsets":[0,12]})", d12), "unknown dtype");
    expect_error(one(R"({"dtype":4,"shape":[3],"data_offsets":[0,12]})", d12), "dtype not a string");
    expect_error(one(R"({"dtype":"F32","shape":[-3],"data_offsets":[0,12]})", d12), "negative dim");
    expect_error(one(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,12]})", d12), "fractional dim");
    expect_error(one(R"({"dtype":"F32","shape":3,"data_offsets":[0,12]})", d12), "shape not an array");
    expect_error(one(R"({"dtype":"F32","shape":[4611686018427387904,4611686018427387904,4],"data_offsets":[0,12]})", d12),
                 "shape overflow");
    expect_error(one(R"({"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,12]})", d12), "dim 2^64-1");
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[12,0]})", d12), "begin > end");
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0]})", d12), "one offset");
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,12,12]})", d12), "three offsets");
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[-1,11]})", d12), "negative offset");
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":"0-12"})", d12), "offsets not an array");
    expect_error(one(R"({"dtype":"F32","shape":[3]})", d12), "no offsets");
    expect_error(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,12],"extra":1})", d12), "unknown field");
    expect_error(one(R"([1,2])", d12), "entry not an object");
    expect_error(one(R"({"dtype":"F32","shape":[[[[3]]]],"data_offsets":[0,12]})", d12), "nested too deep");
    expect_error(make_file("{\"t\":" + std::string(100000, '[') + std::string(100000, ']') + "}", ""), "bracket bomb");
    expect_error(make_file(R"({"":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", d12), "empty name");
    // Two tensors over the same bytes, overlapping, a hole, a duplicate name.
    expect_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                           std::string(8, 'x')), "same bytes twice");
    expect_error(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           d12), "overlap");
    expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                           d12), "hole");
    expect_error(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           std::string(8, 'x')), "duplicate name");
    expect_error(make_file(R"({"__metadata__":{"k":1}})", ""), "metadata value not a string");
    expect_error(make_file(R"({"__metadata__":["k"]})", ""), "metadata not an object");
    expect_error(make_file(R"({"__metadata__":{"k":"a","k":"b"}})", ""), "duplicate metadata key");
    // A header with only metadata and no data is a valid (empty) file.
    const std::string empty = make_file(R"({"__metadata__":{"k":"v"}})", "");
    QCOMPARE(parse_safetensors(reinterpret_cast<const uint8_t*>(empty.data()), empty.size(), kSrc).tensors().size(), size_t(0));
  }

  // Every single-bit flip anywhere in a file (length prefix, header, padding, data) is refused
  // with an Error naming the source, or provably harmless: what parses equals the original in
  // every metadata value and every tensor byte. Flips of the data name the tensor.
  void checksums_catch_every_flip() {
    const auto a = random_floats(40, 11), b = random_floats(9, 12);
    const std::vector<uint16_t> h = {0x3c00, 0x1234, 0xffff};
    const std::string good = encode_safetensors(
        {{"w.a", DType::kF32, {5, 8}, a.data()}, {"w.b", DType::kF32, {9}, b.data()}, {"h", DType::kBF16, {3}, h.data()}},
        {{"config", "{\"n\":1}"}, {"step", "42"}});
    const auto original = parse_safetensors(reinterpret_cast<const uint8_t*>(good.data()), good.size(), kSrc);
    QVERIFY(original.integrity() == Integrity::kVerified);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(good[size_t(i)]);
    const size_t data_start = 8 + size_t(n);
    int refused = 0, harmless = 0, named_tensor = 0;
    for (size_t pos = 0; pos < good.size(); ++pos) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string f = good;
        f[pos] = char(uint8_t(f[pos]) ^ (1u << bit));
        try {
          const auto got = parse_safetensors(reinterpret_cast<const uint8_t*>(f.data()), f.size(), kSrc);
          QVERIFY2(got.metadata() == original.metadata(), qPrintable(QString("flip at %1 changed the metadata").arg(pos)));
          QCOMPARE(got.tensors().size(), original.tensors().size());
          for (const auto& e : original.tensors()) {
            const auto& g = got.at(e.name);
            QVERIFY(g.shape == e.shape && g.dtype == e.dtype);
            QVERIFY2(std::memcmp(got.data(g), original.data(e), e.end - e.begin) == 0,
                     qPrintable(QString("flip at %1 changed tensor %2").arg(pos).arg(QString::fromStdString(e.name))));
          }
          ++harmless;
        } catch (const Error& e) {
          const std::string what = e.what();
          QVERIFY2(what.rfind(std::string(kSrc) + ": ", 0) == 0, e.what());
          if (pos >= data_start) {
            QVERIFY2(what.find("fails its checksum") != std::string::npos, e.what());
            QVERIFY2(what.find("tensor \"") != std::string::npos, e.what());
            ++named_tensor;
          }
          ++refused;
        }
      }
    }
    qInfo("%zu bytes x 8 bits: %d refused (%d naming the tensor), %d harmless", good.size(), refused, named_tensor, harmless);
    QCOMPARE(named_tensor, int(8 * (good.size() - data_start)));
  }

  void files_without_checksums_still_load() {
    const float v[3] = {1, 2, 3};
    const std::string data(reinterpret_cast<const char*>(v), 12);
    const std::string old = make_file(R"({"__metadata__":{"format":"pt"},"t":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", data);
    const auto f = parse_safetensors(reinterpret_cast<const uint8_t*>(old.data()), old.size(), kSrc);
    QVERIFY(f.integrity() == Integrity::kAbsent);
    QVERIFY(f.to_f32("t") == std::vector<float>({1, 2, 3}));
    // One of the two checksums alone, or a list that misses a tensor, is damage, not an old file.
    expect_error(make_file(R"({"__metadata__":{"souplab.xxh3":"{}"},"t":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", data),
                 "tensor sums without the header's");
    const std::string good = encode_safetensors({{"t", DType::kF32, {3}, v}}, {{"format", "pt"}});
    auto j = nlohmann::ordered_json::parse(good.substr(8, good.find_last_of('}') - 7));
    j["__metadata__"].erase("souplab.xxh3");
    expect_error(make_file(j.dump(), data), "header sum without the tensors'");
  }

  void random_mutations_never_crash() {
    const auto a = random_floats(10, 7);
    const std::string good = encode_safetensors({{"x", DType::kF32, {2, 5}, a.data()}, {"y", DType::kF32, {3}, a.data()}}, {{"m", "v"}});
    std::mt19937 rng(99);
    int errors = 0;
    for (int iter = 0; iter < 5000; ++iter) {
      std::string f = good;
      const int flips = 1 + int(rng() % 4);
      for (int k = 0; k < flips; ++k) f[rng() % f.size()] = char(rng() % 256);
      if (rng() % 4 == 0) f.resize(rng() % f.size());
      try {
        const auto parsed = parse_safetensors(reinterpret_cast<const uint8_t*>(f.data()), f.size(), kSrc);
        for (const auto& e : parsed.tensors()) QVERIFY(e.end <= f.size());
      } catch (const Error&) {
        ++errors;
      }  // anything else escapes and fails the test
    }
    QVERIFY(errors > 0);
  }

  void file_errors_name_the_file() {
    QTemporaryDir dir;
    const std::string missing = (dir.path() + "/missing.safetensors").toStdString();
    try {
      read_safetensors(missing);
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find(missing) != std::string::npos);
    }
    QVERIFY_THROWS_EXCEPTION(Error, read_safetensors(dir.path().toStdString()));
    const std::string bad = (dir.path() + "/bad.safetensors").toStdString();
    std::ofstream(bad) << "not a safetensors file at all";
    try {
      read_safetensors(bad);
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).rfind(bad + ": ", 0) == 0);
    }
  }

  void writer_rejects_bad_input() {
    QTemporaryDir dir;
    const float v[2] = {1, 2};
    const std::string path = (dir.path() + "/w.safetensors").toStdString();
    QVERIFY_THROWS_EXCEPTION(Error, write_safetensors(path, {{"a", DType::kF32, {1}, v}, {"a", DType::kF32, {1}, v}}));
    QVERIFY_THROWS_EXCEPTION(Error, write_safetensors(path, {{"a", DType::kF32, {2}, nullptr}}));
    QVERIFY_THROWS_EXCEPTION(Error, write_safetensors(path, {{"__metadata__", DType::kF32, {1}, v}}));
    QVERIFY_THROWS_EXCEPTION(Error, write_safetensors(path, {{"", DType::kF32, {1}, v}}));
    QVERIFY_THROWS_EXCEPTION(Error, write_safetensors(path, {{"a", DType::kF32, {-1}, v}}));
    QVERIFY(!std::filesystem::exists(path));
    const std::string no_dir = (dir.path() + "/no/such/dir/w.safetensors").toStdString();
    try {
      write_safetensors(no_dir, {{"a", DType::kF32, {2}, v}});
      QFAIL("no error");
    } catch (const Error& e) {
      QVERIFY(std::string(e.what()).find(no_dir) != std::string::npos);
    }
    QCOMPARE(std::distance(std::filesystem::directory_iterator(dir.path().toStdString()), {}), 0L);
  }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
