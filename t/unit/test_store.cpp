// Store: no-overwrite insert, delete, prefix lookup, ordered scan, reopen,
// error mapping, reader slots left behind by a killed process, and backups.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>  // the store layer's own test: reader slots, LMDB error codes

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store_fixture.hpp"

namespace {

using namespace wa;

class StoreTest : public wa::unit::StoreFixture {
protected:
    void put(Db db, std::string_view k, std::string_view v) {
        Txn t = write();
        ASSERT_TRUE(t.put(db, k, v).ok());
        ASSERT_TRUE(t.commit().ok());
    }

    // Reader slots currently held by pid, as listed by mdb_reader_list.
    int reader_slots_of(pid_t pid) {
        struct Ctx {
            pid_t pid;
            int n;
        } ctx{pid, 0};
        mdb_reader_list(
            store_->env(),
            [](const char* line, void* p) -> int {
                auto* c = static_cast<Ctx*>(p);
                // "%10d %zx %s\n" per slot, after a header line
                int got = 0;
                if (std::sscanf(line, "%d", &got) == 1 && got == c->pid) c->n++;
                return 0;
            },
            &ctx);
        return ctx.n;
    }

    // Forks a child that opens the store, begins a read transaction, reports
    // back over a pipe and waits; then kills it with SIGKILL and reaps it.
    // Returns the dead child's pid (its reader slot is now stale).
    pid_t leave_stale_reader() {
        int fds[2];
        EXPECT_EQ(pipe(fds), 0);
        pid_t pid = fork();
        if (pid == 0) {
            // Child: never return into gtest; fresh LMDB handles only.
            close(fds[0]);
            auto s = Store::open(options());
            char c = 'n';
            if (s.ok()) {
                auto t = (*s)->begin_read();
                if (t.ok()) {
                    c = 'y';
                    (void)write_byte(fds[1], c);
                    for (;;)
                        pause();  // holds the read transaction until killed
                }
            }
            (void)write_byte(fds[1], c);
            _exit(1);
        }
        close(fds[1]);
        EXPECT_GT(pid, 0);
        char c = 0;
        ssize_t n;
        do {
            n = ::read(fds[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        close(fds[0]);
        EXPECT_EQ(n, 1);
        EXPECT_EQ(c, 'y') << "child could not open a read transaction";
        EXPECT_EQ(kill(pid, SIGKILL), 0);
        int status = 0;
        EXPECT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        return pid;
    }

    static ssize_t write_byte(int fd, char c) {
        ssize_t n;
        do {
            n = ::write(fd, &c, 1);
        } while (n < 0 && errno == EINTR);
        return n;
    }
};

TEST_F(StoreTest, InsertDoesNotOverwrite) {
    Txn t = write();
    auto a = t.insert(Db::meta, "k", "first");
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(*a);
    auto b = t.insert(Db::meta, "k", "second");
    ASSERT_TRUE(b.ok());
    EXPECT_FALSE(*b);
    auto got = t.get(Db::meta, "k");
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(**got, "first");
    ASSERT_TRUE(t.commit().ok());

    Txn r = read();
    got = r.get(Db::meta, "k");
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(**got, "first");
}

TEST_F(StoreTest, PutOverwritesAndGetMissingIsNullopt) {
    put(Db::meta, "k", "1");
    put(Db::meta, "k", "2");
    Txn r = read();
    auto got = r.get(Db::meta, "k");
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(**got, "2");
    auto missing = r.get(Db::meta, "nope");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(*missing);
}

TEST_F(StoreTest, DelReportsWhetherTheKeyExisted) {
    put(Db::meta, "k", "v");
    Txn t = write();
    auto d = t.del(Db::meta, "k");
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(*d);
    d = t.del(Db::meta, "k");
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(*d);
    d = t.del(Db::meta, "never");
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(*d);
    ASSERT_TRUE(t.commit().ok());
    Txn r = read();
    auto got = r.get(Db::meta, "k");
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(*got);
}

TEST_F(StoreTest, DatabasesAreSeparate) {
    put(Db::meta, "k", "meta");
    put(Db::messages, "k", "messages");
    Txn r = read();
    auto a = r.get(Db::meta, "k");
    auto b = r.get(Db::messages, "k");
    auto c = r.get(Db::outbox, "k");
    ASSERT_TRUE(a.ok() && *a && b.ok() && *b && c.ok());
    EXPECT_EQ(**a, "meta");
    EXPECT_EQ(**b, "messages");
    EXPECT_FALSE(*c);
}

TEST_F(StoreTest, FirstWithPrefix) {
    put(Db::outbox_queue, "a9", "x");
    put(Db::outbox_queue, "b2", "two");
    put(Db::outbox_queue, "b1", "one");
    put(Db::outbox_queue, "b3", "three");
    put(Db::outbox_queue, "c0", "y");
    Txn r = read();

    auto f = r.first_with_prefix(Db::outbox_queue, "b");
    ASSERT_TRUE(f.ok() && *f);
    EXPECT_EQ((*f)->key, "b1");
    EXPECT_EQ((*f)->value, "one");

    // from: the first key >= from that still has the prefix
    f = r.first_with_prefix(Db::outbox_queue, "b", "b2");
    ASSERT_TRUE(f.ok() && *f);
    EXPECT_EQ((*f)->key, "b2");
    f = r.first_with_prefix(Db::outbox_queue, "b", "b25");
    ASSERT_TRUE(f.ok() && *f);
    EXPECT_EQ((*f)->key, "b3");
    f = r.first_with_prefix(Db::outbox_queue, "b", "b4");
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(*f) << "c0 is past the prefix";

    // from before the prefix: still the first key with the prefix
    f = r.first_with_prefix(Db::outbox_queue, "b", "a");
    ASSERT_TRUE(f.ok() && *f);
    EXPECT_EQ((*f)->key, "b1");

    f = r.first_with_prefix(Db::outbox_queue, "bb");
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(*f);
    f = r.first_with_prefix(Db::outbox_queue, "d");
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(*f) << "past the last key";
    f = r.first_with_prefix(Db::outbox, "b");
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(*f) << "empty database";
}

TEST_F(StoreTest, ScanIsInByteOrderAndStops) {
    // Big-endian sequence numbers sort numerically under byte order.
    auto be = [](std::uint64_t v) {
        std::string s(8, '\0');
        for (int i = 7; i >= 0; i--, v >>= 8)
            s[i] = static_cast<char>(v & 0xff);
        return s;
    };
    for (std::uint64_t v : {300u, 2u, 256u, 1u, 65536u})
        put(Db::outbox_queue, be(v), "v");
    put(Db::outbox_queue, std::string("\xff", 1), "high");

    Txn r = read();
    std::vector<std::string> keys;
    auto s = r.scan(Db::outbox_queue, {}, [&](const Txn::Entry& e) {
        keys.emplace_back(e.key);
        return true;
    });
    ASSERT_TRUE(s.ok());
    std::vector<std::string> want = {be(1),   be(2),     be(256),
                                     be(300), be(65536), std::string("\xff", 1)};
    EXPECT_EQ(keys, want);

    // from: starts at the first key >= from; false stops the scan
    keys.clear();
    s = r.scan(Db::outbox_queue, be(200), [&](const Txn::Entry& e) {
        keys.emplace_back(e.key);
        return keys.size() < 2;
    });
    ASSERT_TRUE(s.ok());
    want = {be(256), be(300)};
    EXPECT_EQ(keys, want);

    // from past the end: nothing visited, not an error
    int n = 0;
    s = r.scan(Db::outbox_queue, std::string("\xff\xff", 2), [&](const Txn::Entry&) {
        n++;
        return true;
    });
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(n, 0);
}

TEST_F(StoreTest, AbortedWriteLeavesNothing) {
    {
        Txn t = write();
        ASSERT_TRUE(t.put(Db::meta, "k", "v").ok());
        // destroyed without commit: aborted
    }
    Txn t = write();
    ASSERT_TRUE(t.put(Db::meta, "j", "v").ok());
    t.abort();
    EXPECT_FALSE(t.open());
    Txn r = read();
    auto a = r.get(Db::meta, "k");
    auto b = r.get(Db::meta, "j");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_FALSE(*a);
    EXPECT_FALSE(*b);
}

TEST_F(StoreTest, NestedTransactionAbortKeepsParent) {
    Txn parent = write();
    ASSERT_TRUE(parent.put(Db::meta, "p", "1").ok());
    {
        auto child = store_->begin_write(&parent);
        ASSERT_TRUE(child.ok()) << child.error().message;
        ASSERT_TRUE(child->put(Db::meta, "c", "1").ok());
    }
    {
        auto child = store_->begin_write(&parent);
        ASSERT_TRUE(child.ok());
        ASSERT_TRUE(child->put(Db::meta, "d", "1").ok());
        ASSERT_TRUE(child->commit().ok());
    }
    ASSERT_TRUE(parent.commit().ok());
    Txn r = read();
    auto p = r.get(Db::meta, "p");
    auto c = r.get(Db::meta, "c");
    auto d = r.get(Db::meta, "d");
    ASSERT_TRUE(p.ok() && c.ok() && d.ok());
    EXPECT_TRUE(*p);
    EXPECT_FALSE(*c);
    EXPECT_TRUE(*d);
}

TEST_F(StoreTest, ReopenKeepsData) {
    put(Db::messages, "m1", "hello");
    put(Db::wamids, "wamid.1", "m1");
    ASSERT_NO_FATAL_FAILURE(reopen());
    Txn r = read();
    auto a = r.get(Db::messages, "m1");
    auto b = r.get(Db::wamids, "wamid.1");
    ASSERT_TRUE(a.ok() && *a && b.ok() && *b);
    EXPECT_EQ(**a, "hello");
    EXPECT_EQ(**b, "m1");
}

TEST_F(StoreTest, ReadOnlyOpenSeesData) {
    put(Db::meta, "k", "v");
    ASSERT_NO_FATAL_FAILURE(reopen(true));
    Txn r = read();
    auto got = r.get(Db::meta, "k");
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(**got, "v");
}

TEST_F(StoreTest, UsageReportsMapSize) {
    auto u = store_->usage();
    EXPECT_EQ(u.map_size, map_size());
    EXPECT_GT(u.used_bytes, 0u);
    EXPECT_LE(u.used_bytes, u.map_size);
}

TEST(StoreError, MapsMapFullToStoreFull) {
    Error e = store_error(MDB_MAP_FULL, "put");
    EXPECT_EQ(e.code, "store_full");
    EXPECT_NE(e.message.find("put"), std::string::npos);
    EXPECT_EQ(store_error(MDB_TXN_FULL, "put").code, "store_error");
    EXPECT_EQ(store_error(MDB_CORRUPTED, "get").code, "store_error");
    EXPECT_EQ(store_error(EIO, "commit").code, "store_error");
}

TEST(StoreOpen, BadPathIsAnError) {
    Store::Options opts;
    opts.path = "/proc/definitely/not/here";
    auto s = Store::open(opts);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, "store_error");
}

TEST_F(StoreTest, ClearStaleReadersFreesAKilledProcessSlot) {
    pid_t dead = leave_stale_reader();
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(reader_slots_of(dead), 1) << "the killed child's slot is still registered";
    EXPECT_GE(store_->clear_stale_readers(), 1);
    EXPECT_EQ(reader_slots_of(dead), 0);
    EXPECT_EQ(store_->clear_stale_readers(), 0) << "nothing left to clear";
    // Our own live readers are never cleared.
    Txn r = read();
    EXPECT_EQ(store_->clear_stale_readers(), 0);
    EXPECT_EQ(reader_slots_of(getpid()), 1);
}

TEST_F(StoreTest, OpeningClearsStaleReaders) {
    pid_t dead = leave_stale_reader();
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(reader_slots_of(dead), 1);
    ASSERT_NO_FATAL_FAILURE(reopen());
    EXPECT_EQ(reader_slots_of(dead), 0) << "Store::open cleared the slot";
    EXPECT_EQ(store_->clear_stale_readers(), 0);
}

// -- copy_to: the online backup ---------------------------------------------------------------

// A backup directory beside the store's, removed with it.
std::string backup_dir(const std::string& store_dir, const char* name = "backup") {
    return store_dir + "-" + name;
}

class StoreCopy : public StoreTest {
protected:
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(backup_dir(dir_), ec);
        StoreTest::TearDown();
    }

    std::unique_ptr<Store> open_copy(const std::string& dir) {
        Store::Options o;
        o.path = dir;
        o.map_size = 0;
        o.read_only = true;
        auto s = Store::open(o);
        EXPECT_TRUE(s.ok()) << s.error().message;
        return s.ok() ? std::move(*s) : nullptr;
    }
};

TEST_F(StoreCopy, ACopyHoldsEveryCommittedRecordAndLeavesOutFreePages) {
    std::string big(3000, 'x');
    {
        Txn t = write();
        for (int i = 0; i < 2000; i++)
            ASSERT_TRUE(t.put(Db::messages, "m" + std::to_string(i), big).ok());
        ASSERT_TRUE(t.commit().ok());
    }
    {
        Txn t = write();  // most of it freed again: pages the copy leaves out
        for (int i = 10; i < 2000; i++)
            ASSERT_TRUE(t.del(Db::messages, "m" + std::to_string(i)).ok());
        ASSERT_TRUE(t.put(Db::meta, "k", "v").ok());
        ASSERT_TRUE(t.commit().ok());
    }
    Txn open_reader = read();  // a reader (or nginx's writer) does not stop it
    std::string dir = backup_dir(dir_) + "/nested";
    auto r = store_->copy_to(dir);
    ASSERT_TRUE(r.ok()) << r.error().message;

    struct stat st {};
    ASSERT_EQ(stat((dir + "/data.mdb").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_LT(static_cast<std::size_t>(st.st_size), store_->usage().used_bytes / 4);
    EXPECT_FALSE(std::filesystem::exists(dir + "/lock.mdb"));

    auto copy = open_copy(dir);
    ASSERT_TRUE(copy);
    auto t = copy->begin_read();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t->entries(Db::messages), 10u);
    auto v = t->get(Db::meta, "k");
    ASSERT_TRUE(v.ok() && *v);
    EXPECT_EQ(**v, "v");
    auto m = t->get(Db::messages, "m9");
    ASSERT_TRUE(m.ok() && *m);
    EXPECT_EQ(**m, big);
    EXPECT_EQ(copy->usage().map_size, map_size());  // the map size recorded in it
}

TEST_F(StoreCopy, AReadOnlyStoreCanBeCopied) {
    put(Db::meta, "k", "v");
    ASSERT_NO_FATAL_FAILURE(reopen(true));
    std::string dir = backup_dir(dir_);
    ASSERT_TRUE(std::filesystem::create_directory(dir));  // existing and empty is fine
    auto r = store_->copy_to(dir);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto copy = open_copy(dir);
    ASSERT_TRUE(copy);
    auto t = copy->begin_read();
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(*t->get(Db::meta, "k"));
}

TEST_F(StoreCopy, RefusesADirectoryThatIsNotEmpty) {
    std::string dir = backup_dir(dir_);
    ASSERT_TRUE(std::filesystem::create_directory(dir));
    std::ofstream(dir + "/notes.txt") << "keep me";
    auto r = store_->copy_to(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_error");
    EXPECT_NE(r.error().message.find("not empty"), std::string::npos) << r.error().message;
    EXPECT_FALSE(std::filesystem::exists(dir + "/data.mdb"));
    // A second backup into the first one's directory is refused too.
    std::string again = backup_dir(dir_) + "/again";
    ASSERT_TRUE(store_->copy_to(again).ok());
    r = store_->copy_to(again);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(std::filesystem::exists(again + "/data.mdb"));  // the first copy stays
}

}  // namespace

namespace wa::unit {
namespace {

// The workers' user must pass through the parents the store's directory
// needed; only the store itself is private.
TEST_F(StoreTest, MissingParentsAreTraversableAndTheStoreIsPrivate) {
    std::string parent = dir_ + "/var/lib";
    Store::Options opts;
    opts.path = parent + "/whatsapp";
    opts.map_size = std::size_t{1} << 20;
    mode_t old = umask(022);
    auto s = Store::open(opts);
    umask(old);
    ASSERT_TRUE(s.ok()) << s.error().message;
    struct stat st {};
    ASSERT_EQ(stat(parent.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
    ASSERT_EQ(stat(opts.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

// Backward scans: greatest key below the bound first, the prefix's end kept.
TEST_F(StoreTest, ScanBackGoesDownFromTheBound) {
    Txn t = write();
    for (const char* k : {"a1", "a2", "a3", "b1"})
        ASSERT_TRUE(t.put(Db::meta, k, "").ok());
    std::vector<std::string> seen;
    ASSERT_TRUE(t.scan_back(Db::meta, "a3", [&](const Txn::Entry& e) {
                     seen.emplace_back(e.key);
                     return true;
                 }).ok());
    EXPECT_EQ(seen, (std::vector<std::string>{"a2", "a1"}));
    seen.clear();
    ASSERT_TRUE(t.scan_back(Db::meta, {}, [&](const Txn::Entry& e) {
                     seen.emplace_back(e.key);
                     return seen.size() < 2;
                 }).ok());
    EXPECT_EQ(seen, (std::vector<std::string>{"b1", "a3"}));
    seen.clear();
    ASSERT_TRUE(t.scan_back(Db::meta, "zz", [&](const Txn::Entry& e) {
                     seen.emplace_back(e.key);
                     return false;
                 }).ok());
    EXPECT_EQ(seen, (std::vector<std::string>{"b1"}));
}

}  // namespace
}  // namespace wa::unit
