// Bad input everywhere (the reliability issue): the corpus reader on binary files, a huge single
// line, symlink loops and non-UTF-8 names; the memory estimate that refuses configs too large
// for the machine; and souplab-cli on bad domain weights, output paths that cannot be written,
// a full disk, a huge config, and two processes writing one run log at once.
// (Already covered elsewhere and not repeated here: h checks of the library in
// tests/nn/test_soup_model.cpp, foreign/newer checkpoints in tests/nn/test_training.cpp, an
// existing export folder in tests/export.)
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <unistd.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "souplab/config.h"
#include "souplab/corpus.h"
#include "souplab/error.h"
#include "engine/core/checkpoint_meta.h"
#include "engine/core/memory_estimate.h"
#include "engine/core/safetensors.h"
#include "souplab/run_log.h"
#include "tests/ui/ui_test_corpus.h"

using namespace souplab;
namespace fs = std::filesystem;

namespace {

void write(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string text(int n, char c) { return std::string(size_t(n), c) + "\n"; }

struct Cli {
  int exitCode = -1;
  bool crashed = false;
  QString output;
};

}  // namespace

class TestBadInput : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_tmp;
  QString m_corpus, m_checkpoint;

  QString path(const QString& rel) const { return m_tmp.filePath(rel); }

  QProcessEnvironment env() const {
    auto e = QProcessEnvironment::systemEnvironment();
    e.insert("SOUPLAB_DATA_DIR", path("data"));
    e.insert("SOUPLAB_CACHE_DIR", path("cache"));
    e.insert("OMP_NUM_THREADS", "1");
    return e;
  }

  Cli cli(const QStringList& args, int timeoutMs = 120000) const {
    QProcess p;
    p.setProcessEnvironment(env());
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(SOUPLAB_CLI, args);
    Cli r;
    if (!p.waitForFinished(timeoutMs)) {
      p.kill();
      p.waitForFinished();
      r.output = "timed out: " + args.join(' ');
      return r;
    }
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.exitCode = p.exitCode();
    r.output = QString::fromLocal8Bit(p.readAll());
    return r;
  }

  QStringList tinyTrain(const QString& out, const QString& runLog, int steps = 10) const {
    return {"train", "--corpus", m_corpus, "--layers", "1", "--width", "32", "--heads", "2",
            "--context", "32", "--batch", "4", "--experts", "2", "--steps", QString::number(steps),
            "--eval-interval", "5", "--eval-windows", "2", "--checkpoint-interval", "5",
            "--device", "cpu", "--threads", "1", "--quiet", "--out", out, "--run-log", runLog};
  }

  // A clean refusal: exit code 1 with a message, no crash, no signal.
  static void expectRefusal(const Cli& r, const QString& mustMention) {
    QVERIFY2(!r.crashed, qPrintable("crashed: " + r.output));
    QVERIFY2(r.exitCode != 0, qPrintable("accepted: " + r.output));
    QVERIFY2(r.exitCode < 128, qPrintable("died by a signal: " + r.output));
    QVERIFY2(r.output.contains(mustMention), qPrintable("message lacks \"" + mustMention + "\": " + r.output));
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(m_tmp.isValid());
    m_corpus = souplab::test::writeUiTestCorpus(path("corpus"), 24 * 1024);
    QVERIFY(!m_corpus.isEmpty());
    const Cli r = cli(tinyTrain(path("base-run"), path("base.sqlite")));
    QVERIFY2(r.exitCode == 0 && !r.crashed, qPrintable(r.output));
    m_checkpoint = path("base-run/step_00000010.ckpt");
    QVERIFY(QFile::exists(m_checkpoint));
  }

  // Qt cannot remove files whose names are not UTF-8; std::filesystem can.
  void cleanupTestCase() {
    std::error_code ec;
    for (const char* d : {"c-names", "c-names-ok"}) fs::remove_all(path(d).toStdString(), ec);
  }

  // --- corpus -------------------------------------------------------------------------------

  void binaryFilesAreBytes() {
    const std::string dir = path("c-binary").toStdString();
    std::string bin;
    for (int i = 0; i < 4096; ++i) bin += char((i * 131 + 7) & 0xFF);  // every byte value, NULs too
    write(dir + "/bin/blob.dat", bin);
    write(dir + "/bin/elf", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10) + bin);
    write(dir + "/text/a.txt", text(3000, 'a'));
    CorpusOptions o;
    o.cache_dir = dir + "-cache";
    o.min_val_tokens = 64;
    o.min_domain_tokens = 33;
    auto cache = TokenCache::open(dir, o);
    QCOMPARE(cache->num_domains(), size_t(2));
    const DomainInfo& d = cache->domains()[0];
    // The 0x0C bytes inside the blob are only separators on a line of their own; all bytes are
    // kept, plus one end marker per document.
    QVERIFY(d.train_tokens + d.val_tokens >= bin.size() * 2 + 10);
  }

  // A single line of 1 GiB (a sparse file: no disk, no time) is read only up to max_domain_bytes,
  // and a 64 MiB single line is read whole. 64 MiB is enough to show what matters: the reader is
  // byte-oriented (memchr for form feeds, no line buffer), so its cost and memory are linear in
  // the bytes read whatever the line length; 1 GiB read whole would only make the test slow.
  void hugeSingleLine() {
    const std::string dir = path("c-huge").toStdString();
    fs::create_directories(dir + "/big");
    write(dir + "/small/a.txt", text(3000, 's'));
    {
      const int fd = ::open((dir + "/big/one_line.txt").c_str(), O_CREAT | O_WRONLY, 0644);
      QVERIFY(fd >= 0);
      QCOMPARE(::ftruncate(fd, off_t(1) << 30), 0);
      QCOMPARE(::pwrite(fd, "start of a very long line ", 26, 0), ssize_t(26));
      ::close(fd);
    }
    CorpusOptions o;
    o.cache_dir = dir + "-cache";
    o.min_domain_tokens = 33;
    o.max_domain_bytes = 8u << 20;
    auto cache = TokenCache::open(dir, o);
    const DomainInfo& big = cache->domains()[0];
    QCOMPARE(big.name, std::string("big"));
    QCOMPARE(big.documents, uint64_t(1));
    QCOMPARE(big.train_tokens + big.val_tokens, uint64_t(8u << 20) + 2);  // + 2 end markers
    QCOMPARE(cache->train_tokens(0)[0], uint8_t('s'));

    QVERIFY(::truncate((dir + "/big/one_line.txt").c_str(), off_t(64) << 20) == 0);
    o.max_domain_bytes = 0;
    o.cache_dir = dir + "-cache64";
    cache = TokenCache::open(dir, o);
    QCOMPARE(cache->domains()[0].train_tokens + cache->domains()[0].val_tokens,
             uint64_t(64u << 20) + 2);
  }

  void symlinkLoops() {
    const std::string dir = path("c-links").toStdString();
    write(dir + "/a/doc.txt", text(3000, 'a'));
    write(dir + "/b/doc.txt", text(3000, 'b'));
    fs::create_directory_symlink(".", dir + "/a/self");           // a -> a -> a ...
    fs::create_directory_symlink("..", dir + "/a/parent");        // back to the corpus
    fs::create_symlink("loop2", dir + "/b/loop1");                // a dangling two-link loop
    fs::create_symlink("loop1", dir + "/b/loop2");
    fs::create_directory_symlink(dir, dir + "/b/corpus");         // absolute link to the corpus
    fs::create_directory_symlink(dir, dir + "/c");                // a domain that is the corpus
    CorpusOptions o;
    o.cache_dir = dir + "-cache";
    o.min_val_tokens = 64;
    o.min_domain_tokens = 33;
    auto cache = TokenCache::open(dir, o);  // returns: no loop is followed
    QCOMPARE(cache->domains()[0].documents, uint64_t(1));  // only doc.txt
    QCOMPARE(cache->domains()[1].documents, uint64_t(1));
  }

  void nonUtf8Names() {
    const std::string dir = path("c-names").toStdString();
    write(dir + "/latin\xe9/caf\xe9.txt", text(3000, 'l'));  // ISO-8859-1 folder and file names
    write(dir + "/plain/\xff\xfe.txt", text(3000, 'p'));
    CorpusOptions o;
    o.cache_dir = dir + "-cache";
    o.min_val_tokens = 64;
    o.min_domain_tokens = 33;
    try {
      auto cache = TokenCache::open(dir, o);
      // Accepted: then the names must survive the manifest round trip.
      QCOMPARE(cache->num_domains(), size_t(2));
      QCOMPARE(TokenCache::open_cache(o.cache_dir)->domains()[0].name, cache->domains()[0].name);
    } catch (const Error& e) {
      // Refused: with a message naming the folder, not a JSON library error.
      QVERIFY2(QString(e.what()).contains("UTF-8"), e.what());
    }
    // A non-UTF-8 file name inside a domain is just a file.
    const std::string ok = path("c-names-ok").toStdString();
    write(ok + "/a/\xff\xfe.txt", text(3000, 'a'));
    write(ok + "/b/b.txt", text(3000, 'b'));
    o.cache_dir = ok + "-cache";
    QCOMPARE(TokenCache::open(ok, o)->domains()[0].documents, uint64_t(1));
  }

  // --- memory -------------------------------------------------------------------------------

  void memoryEstimate() {
    RunConfig c;  // 4 layers of width 256, n = 8: a few hundred MB, far from 0 and from terabytes
    c.model.n_layer = 4;
    c.model.n_embd = 256;
    const uint64_t def = estimate_training_bytes(c, 5);
    QVERIFY2(def > (200ull << 20) && def < (4ull << 30), qPrintable(QString::number(def)));
    RunConfig big = c;
    big.model.n_embd *= 2;
    QVERIFY(estimate_training_bytes(big, 5) > def);
    big = c;
    big.train.batch_size *= 2;
    QVERIFY(estimate_training_bytes(big, 5) > def);
    big = c;
    big.bank.n_experts *= 2;
    QVERIFY(estimate_training_bytes(big, 5) > def);
    // The largest config validate() accepts does not overflow.
    big.model.n_embd = 65536;
    big.model.n_layer = 256;
    big.model.block_size = 65536;
    big.bank.n_experts = 4096;
    big.train.batch_size = 65536;
    QVERIFY(estimate_training_bytes(big, 65536) > (1ull << 50));

    qputenv("SOUPLAB_MEMORY_LIMIT_BYTES", "1048576");
    try {
      check_training_memory(c, 5, "train");
      QFAIL("accepted a config larger than 1 MiB");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("needs about") && QString(e.what()).contains("1 MiB"), e.what());
    }
    qunsetenv("SOUPLAB_MEMORY_LIMIT_BYTES");
    QVERIFY(available_memory_bytes() > 0);  // /proc/meminfo is readable on Linux
    // A GPU's own free memory is what counts there, and the device is named; a config that fits
    // gets the line the training monitor shows.
    try {
      check_training_memory(c, 5, "train", "cuda:1", 1048576);
      QFAIL("accepted a config larger than the GPU's 1 MiB");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("available on cuda:1"), e.what());
    }
    const QString fits = QString::fromStdString(check_training_memory(c, 5, "train", "cpu", 1ull << 40));
    QVERIFY2(fits.contains("for training") && fits.contains("available on cpu"), qPrintable(fits));
  }

  // A training that runs out of memory anyway (another process took the GPU's) is told apart
  // from other failures by the messages of both libtorch versions' allocators, so the trainer
  // can name the run's size and its intact checkpoint instead of the allocator's dump.
  void allocationFailuresAreRecognised() {
    QVERIFY(is_out_of_memory(std::bad_alloc()));
    QVERIFY(is_out_of_memory(std::runtime_error(
        "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1125899906842624 bytes. Error code 12")));
    QVERIFY(is_out_of_memory(std::runtime_error(
        "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total capacity; 77.50 GiB already allocated)")));
    QVERIFY(!is_out_of_memory(std::runtime_error("Expected all tensors to be on the same device")));
    QVERIFY(!is_out_of_memory(Error("corpus/x.txt: not valid UTF-8")));
  }

  void cliRefusesConfigLargerThanMemory() {
    // ~1.6e12 parameters: no machine this runs on has the terabytes it needs.
    Cli r = cli({"train", "--corpus", m_corpus, "--layers", "128", "--width", "16384", "--heads", "16",
                 "--context", "64", "--experts", "8", "--steps", "1", "--device", "cpu", "--quiet",
                 "--out", path("huge-run"), "--run-log", path("huge.sqlite")}, 60000);
    expectRefusal(r, "needs about");
    QVERIFY2(r.output.contains("TiB"), qPrintable(r.output));
    QVERIFY(!QFile::exists(path("huge-run/step_00000001.ckpt")));
  }

  // --- domain weights on the command line ---------------------------------------------------

  void cliRejectsBadWeights_data() {
    QTest::addColumn<QString>("weights");
    QTest::newRow("wrong length") << "0.5,0.5";
    QTest::newRow("too long") << "0.2,0.2,0.2,0.4";
    QTest::newRow("negative") << "-1,1,1";
    QTest::newRow("NaN") << "nan,1,1";
    QTest::newRow("infinite") << "inf,1,1";
    QTest::newRow("zero sum") << "0,0,0";
    QTest::newRow("unknown name") << "nosuch=1";
    QTest::newRow("not a number") << "a,b,c";
    QTest::newRow("empty") << "";
    QTest::newRow("bad one-hot") << "onehot:nosuch";
  }
  void cliRejectsBadWeights() {
    QFETCH(QString, weights);
    for (const QString& command : {"eval", "generate", "export"}) {
      QStringList args = {command, m_checkpoint, "--weights", weights, "--device", "cpu"};
      if (command != "generate") args << "--run-log" << path("base.sqlite");
      if (command == "generate") args << "--prompt" << "a" << "--length" << "4";
      if (command == "export") args << "--out" << path("export-bad-" + QString::number(qHash(weights)));
      const Cli r = cli(args);
      expectRefusal(r, "weight");
    }
  }

  // --- damaged checkpoints --------------------------------------------------------------------

  // A flipped byte anywhere in a real checkpoint: refused with an Error naming the file (and the
  // tensor, for a flip in the data), or provably harmless: metadata and every tensor's bytes
  // read back equal to the original's. 1,000 random bytes, a tenth of them in the header.
  void checkpointByteFlipsAreRefused() {
    const std::string original_path = m_checkpoint.toStdString();
    std::string bytes;
    {
      std::ifstream in(original_path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const SafetensorsFile original = read_safetensors(original_path);
    QVERIFY(original.integrity() == Integrity::kVerified);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    const size_t data_start = 8 + size_t(n);
    const std::string flipped = path("flipped.ckpt").toStdString();
    std::mt19937 rng(2026);
    int refused = 0, named = 0, harmless = 0;
    for (int i = 0; i < 1000; ++i) {
      const size_t pos = i % 10 == 0 ? rng() % data_start : data_start + rng() % (bytes.size() - data_start);
      std::string f = bytes;
      f[pos] = char(uint8_t(f[pos]) ^ uint8_t(1 + rng() % 255));
      write(flipped, f);
      try {
        const SafetensorsFile got = read_safetensors(flipped);
        parse_checkpoint_metadata(got);
        QVERIFY2(got.metadata() == original.metadata(), qPrintable(QString("flip at byte %1 changed the metadata").arg(pos)));
        QCOMPARE(got.tensors().size(), original.tensors().size());
        for (const auto& e : original.tensors())
          QVERIFY2(std::memcmp(got.data(got.at(e.name)), original.data(e), e.end - e.begin) == 0,
                   qPrintable(QString("flip at byte %1 changed %2").arg(pos).arg(QString::fromStdString(e.name))));
        ++harmless;
      } catch (const Error& e) {
        const std::string what = e.what();
        QVERIFY2(what.rfind(flipped + ": ", 0) == 0, e.what());
        if (pos >= data_start) {
          QVERIFY2(what.find("tensor \"") != std::string::npos && what.find("fails its checksum") != std::string::npos,
                   e.what());
          ++named;
        }
        ++refused;
      }
    }
    qInfo("1000 flipped bytes: %d refused (%d in the data, each naming its tensor), %d harmless", refused, named, harmless);
    QCOMPARE(refused + harmless, 1000);

    // Through the CLI: a clean refusal naming the file and the tensor.
    std::string f = bytes;
    f[bytes.size() - 3] = char(uint8_t(f[bytes.size() - 3]) ^ 0x10);
    write(flipped, f);
    const Cli r = cli({"eval", QString::fromStdString(flipped), "--device", "cpu", "--run-log", path("base.sqlite")});
    expectRefusal(r, "fails its checksum");
    QVERIFY2(r.output.contains(QString::fromStdString(flipped)) && r.output.contains("tensor \""), qPrintable(r.output));
  }

  // A checkpoint written before checksums existed still loads, with a note saying so.
  void checkpointWithoutChecksumsLoadsWithANote() {
    const SafetensorsFile f = read_safetensors(m_checkpoint.toStdString());
    std::string bytes;
    {
      std::ifstream in(m_checkpoint.toStdString(), std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    auto header = nlohmann::ordered_json::parse(bytes.substr(8, size_t(n)));
    header["__metadata__"].erase(kTensorChecksumsKey);
    header["__metadata__"].erase(kHeaderChecksumKey);
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string old(8, '\0');
    for (int i = 0; i < 8; ++i) old[size_t(i)] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
    old += text + bytes.substr(8 + size_t(n));
    const std::string old_path = path("old.ckpt").toStdString();
    write(old_path, old);
    QVERIFY(read_safetensors(old_path).integrity() == Integrity::kAbsent);
    const Cli r = cli({"eval", QString::fromStdString(old_path), "--device", "cpu", "--run-log", path("base.sqlite")});
    QVERIFY2(r.exitCode == 0 && !r.crashed, qPrintable(r.output));
    QVERIFY2(r.output.contains("loaded unverified"), qPrintable(r.output));
  }

  // --- output paths that cannot be written --------------------------------------------------

  void cliOutputDirUnderARegularFile() {
    write(path("a-file").toStdString(), "I am a file\n");
    Cli r = cli(tinyTrain(path("a-file/run"), path("ok.sqlite"), 5));
    expectRefusal(r, path("a-file"));
    r = cli(tinyTrain(path("run-ok"), path("a-file/runs.sqlite"), 5));
    expectRefusal(r, path("a-file"));
    r = cli({"export", m_checkpoint, "--weights", "uniform", "--format", "safetensors", "--device", "cpu",
             "--out", path("a-file/export"), "--run-log", path("base.sqlite")});
    expectRefusal(r, path("a-file"));
  }

  // A full disk: a 256 KiB tmpfs (tests run as root in CI; skipped where mounting is not allowed).
  // The checkpoint write fails with a message, leaves no partial checkpoint or temporary file.
  void cliFullDisk() {
    const QString mnt = path("tiny-fs");
    QDir().mkpath(mnt);
    if (::mount("tmpfs", mnt.toLocal8Bit().constData(), "tmpfs", 0, "size=256k") != 0)
      QSKIP("cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)");
    struct Unmount {
      QString dir;
      ~Unmount() { ::umount2(dir.toLocal8Bit().constData(), MNT_DETACH); }
    } unmount{mnt};
    const Cli r = cli(tinyTrain(mnt + "/run", path("full.sqlite"), 5));
    expectRefusal(r, mnt + "/run");
    QVERIFY2(r.output.contains("No space left") || r.output.contains("space"), qPrintable(r.output));
    const QStringList left = QDir(mnt + "/run").entryList(QDir::Files | QDir::Hidden);
    QVERIFY2(left.isEmpty(), qPrintable(left.join(' ')));
    // The run is marked failed in the log, which stays intact.
    RunLog log(path("full.sqlite").toStdString());
    const auto runs = log.list_runs();
    QCOMPARE(runs.size(), size_t(1));
    QCOMPARE(runs[0].status, std::string("failed"));
  }

  // --- two processes, one run log -----------------------------------------------------------

  void twoProcessesOneRunLog() {
    const QString db = path("shared.sqlite");
    QProcess a, b;
    for (QProcess* p : {&a, &b}) {
      p->setProcessEnvironment(env());
      p->setProcessChannelMode(QProcess::MergedChannels);
    }
    QStringList argsA = tinyTrain(path("two-a"), db, 30), argsB = tinyTrain(path("two-b"), db, 30);
    argsA << "--log-interval" << "1";  // a write every step, to collide as often as possible
    argsB << "--log-interval" << "1";
    a.start(SOUPLAB_CLI, argsA);
    b.start(SOUPLAB_CLI, argsB);
    QVERIFY(a.waitForFinished(180000));
    QVERIFY(b.waitForFinished(180000));
    QVERIFY2(a.exitStatus() == QProcess::NormalExit && a.exitCode() == 0, a.readAll().constData());
    QVERIFY2(b.exitStatus() == QProcess::NormalExit && b.exitCode() == 0, b.readAll().constData());

    sqlite3* raw = nullptr;
    QCOMPARE(sqlite3_open_v2(db.toUtf8().constData(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    QCOMPARE(sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
    QCOMPARE(sqlite3_step(st), SQLITE_ROW);
    const QString check = QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(raw);
    QCOMPARE(check, QString("ok"));

    RunLog log(db.toStdString());
    const auto runs = log.list_runs();
    QCOMPARE(runs.size(), size_t(2));
    for (const RunSummary& run : runs) {
      QCOMPARE(run.status, std::string("finished"));
      QCOMPARE(run.last_step, int64_t(30));
      QCOMPARE(log.metrics(run.id, std::string("loss")).size(), size_t(30));  // steps 1..30, no gaps
    }
  }
};

QTEST_GUILESS_MAIN(TestBadInput)
#include "test_bad_input.moc"
