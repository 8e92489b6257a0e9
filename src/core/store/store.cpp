#include "store/store.hpp"

#include <lmdb.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wa {

namespace {

constexpr const char* kDbNames[] = {
    "conversations",
    "conversation_pair",
    "messages",
    "wamids",
    "outbox",
    "outbox_queue",
    "outbox_due",
    "outbox_dead",
    "meta",
    "idempotency",
    "idempotency_expiry",
    "scheduled",
    "scheduled_due",
    "inbox_activity",
    "conversation_messages",
    "stream",
    "media",
};
static_assert(std::size(kDbNames) == static_cast<unsigned>(Db::count_));

MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

std::string_view from_val(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// mkdir -p: the store's parent directories may not exist yet either. They
// are made 0755 (the workers' user must pass through them); the store's
// own directory 0700.
Result<void> make_dir(const std::string& path) {
    for (std::size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
        std::string part = path.substr(0, at);
        mode_t mode = at == std::string::npos ? 0700 : 0755;
        if (mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
            return make_error("store_error", "mkdir \"" + part + "\": " + std::strerror(errno));
        }
        if (at == std::string::npos) return {};
    }
}

// Entries of a directory other than . and ..; -1 when it cannot be read.
int dir_entries(const std::string& path) {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return -1;
    int n = 0;
    while (const dirent* e = readdir(d)) {
        std::string_view name = e->d_name;
        if (name != "." && name != "..") n++;
    }
    closedir(d);
    return n;
}

Error os_error(const std::string& what) {
    return make_error("store_error", what + ": " + std::strerror(errno));
}

// fsync of a file or directory; mode: also set it (0: leave it).
Result<void> flush_path(const std::string& path, mode_t mode) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error("open \"" + path + "\"");
    bool ok = (mode == 0 || fchmod(fd, mode) == 0) && fsync(fd) == 0;
    Error e = ok ? Error{} : os_error("flush \"" + path + "\"");
    ::close(fd);
    if (!ok) return e;
    return {};
}

}  // namespace

Error store_error(int rc, std::string_view what) {
    std::string msg = std::string(what) + ": " + mdb_strerror(rc);
    if (rc == MDB_MAP_FULL) return make_error("store_full", std::move(msg));
    if (rc == MDB_BAD_VALSIZE) return make_error("invalid_key", std::move(msg));
    return make_error("store_error", std::move(msg));
}

bool is_store_failure(const Error& e) {
    return e.code == "store_full" || e.code == "store_error" || e.code == "store_corrupt";
}

Result<std::unique_ptr<Store>> Store::open(const Options& options) {
    if (!options.read_only) {
        if (auto r = make_dir(options.path); !r) return r.error();
    }
    std::unique_ptr<Store> s(new Store());
    s->path_ = options.path;
    int rc = mdb_env_create(&s->env_);
    if (rc != 0) return store_error(rc, "mdb_env_create");
    mdb_env_set_maxdbs(s->env_, static_cast<MDB_dbi>(Db::count_) + 4);
    // Many readers: workers, admin tools, and stale slots until cleared.
    mdb_env_set_maxreaders(s->env_, 512);
    if ((rc = mdb_env_set_mapsize(s->env_, options.map_size)) != 0) {
        return store_error(rc, "mdb_env_set_mapsize");
    }
    // NOTLS: read transactions are not tied to threads; the event loop may
    // hold a read snapshot and a write transaction at once.
    // NOMETASYNC: a commit flushes its data pages under the write lock and
    // leaves the meta page to Txn::commit's mdb_env_sync, after the lock is
    // released, so the other workers' writers are not kept waiting for a
    // second device flush. Still durable when commit() returns; LMDB keeps
    // integrity either way (ACI per commit, D once synced).
    unsigned flags = MDB_NOTLS | (options.read_only ? MDB_RDONLY : MDB_NOMETASYNC);
    if ((rc = mdb_env_open(s->env_, options.path.c_str(), flags, 0600)) != 0) {
        return store_error(rc, "mdb_env_open \"" + options.path + "\"");
    }
    s->clear_stale_readers();

    auto txn = options.read_only ? s->begin_read() : s->begin_write();
    if (!txn) return txn.error();
    for (unsigned i = 0; i < static_cast<unsigned>(Db::count_); i++) {
        rc =
            mdb_dbi_open(txn->raw(), kDbNames[i], options.read_only ? 0 : MDB_CREATE, &s->dbis_[i]);
        if (rc != 0) return store_error(rc, std::string("open database ") + kDbNames[i]);
    }
    if (auto r = txn->commit(); !r) return r.error();
    return s;
}

Store::~Store() {
    if (env_) mdb_env_close(env_);
}

Result<Txn> Store::begin_write(Txn* parent) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, parent ? parent->raw() : nullptr, 0, &txn);
    if (rc != 0) return store_error(rc, "begin write");
    Txn t(this, txn);
    t.sync_on_commit_ = parent == nullptr;
    return t;
}

Result<Txn> Store::begin_read() {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return store_error(rc, "begin read");
    return Txn(this, txn);
}

Result<void> Store::sync() {
    if (int rc = mdb_env_sync(env_, 1); rc != 0) return io_error(rc, "sync");
    return {};
}

// LMDB reports a short write (a full file system) as EIO.
Error Store::io_error(int rc, std::string_view what) const {
    constexpr unsigned long long kNearlyFull = 1 << 20;
    struct statvfs fs {};
    bool disk_full =
        rc == ENOSPC || (rc == EIO && statvfs(path_.c_str(), &fs) == 0 &&
                         static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize < kNearlyFull);
    if (!disk_full) return store_error(rc, what);
    return make_error("store_error",
                      std::string(what) + ": no space left on device (\"" + path_ + "\")");
}

Result<void> Store::copy_to(const std::string& dir) {
    if (auto r = make_dir(dir); !r) return r;
    int entries = dir_entries(dir);
    if (entries < 0) return os_error("read \"" + dir + "\"");
    if (entries > 0) return make_error("store_error", "\"" + dir + "\" is not empty");
    std::string file = dir + "/data.mdb";
    Result<void> r;
    if (int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT); rc != 0) {
        r = store_error(rc, "copy to \"" + dir + "\"");
    } else {
        // LMDB leaves the copy unflushed, its mode as the umask has it: it holds messages.
        r = flush_path(file, 0600);
        if (r) r = flush_path(dir, 0);
    }
    if (!r) unlink(file.c_str());  // never a partial copy that looks like a backup
    return r;
}

int Store::clear_stale_readers() {
    int dead = 0;
    mdb_reader_check(env_, &dead);
    return dead;
}

Store::Usage Store::usage() {
    MDB_envinfo info{};
    MDB_stat st{};
    mdb_env_info(env_, &info);
    mdb_env_stat(env_, &st);
    return Usage{info.me_mapsize, (info.me_last_pgno + 1) * std::size_t{st.ms_psize}};
}

Txn::Txn(Txn&& other) noexcept
    : store_(other.store_), txn_(other.txn_), sync_on_commit_(other.sync_on_commit_) {
    other.txn_ = nullptr;
}

Txn& Txn::operator=(Txn&& other) noexcept {
    if (this != &other) {
        abort();
        store_ = other.store_;
        txn_ = other.txn_;
        sync_on_commit_ = other.sync_on_commit_;
        other.txn_ = nullptr;
    }
    return *this;
}

Txn::~Txn() { abort(); }

Result<void> Txn::commit() {
    bool sync = sync_on_commit_;
    if (auto r = commit_unsynced(); !r) return r;
    return sync ? store_->sync() : Result<void>{};
}

Result<void> Txn::commit_unsynced() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    int rc = mdb_txn_commit(t);  // frees t even on failure
    if (rc != 0) return store_->io_error(rc, "commit");
    return {};
}

void Txn::abort() {
    if (txn_) {
        mdb_txn_abort(txn_);
        txn_ = nullptr;
    }
}

Result<std::optional<std::string_view>> Txn::get(Db db, std::string_view key) {
    MDB_val k = to_val(key), v{};
    int rc = mdb_get(txn_, store_->dbi(db), &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string_view>{};
    if (rc != 0) return store_error(rc, "get");
    return std::optional<std::string_view>{from_val(v)};
}

Result<void> Txn::put(Db db, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key), v = to_val(value);
    int rc = mdb_put(txn_, store_->dbi(db), &k, &v, 0);
    if (rc != 0) return store_error(rc, "put");
    return {};
}

Result<bool> Txn::insert(Db db, std::string_view key, std::string_view value) {
    MDB_val k = to_val(key), v = to_val(value);
    int rc = mdb_put(txn_, store_->dbi(db), &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) return false;
    if (rc != 0) return store_error(rc, "insert");
    return true;
}

Result<bool> Txn::del(Db db, std::string_view key) {
    MDB_val k = to_val(key);
    int rc = mdb_del(txn_, store_->dbi(db), &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != 0) return store_error(rc, "del");
    return true;
}

std::size_t Txn::room() {
    MDB_envinfo info{};
    mdb_env_info(store_->env(), &info);
    constexpr MDB_dbi kFreeDbi = 0, kMainDbi = 1;
    std::size_t pages = 2;  // the meta pages
    std::size_t page_size = 4096;
    auto add = [&](MDB_dbi dbi) {
        MDB_stat st{};
        if (mdb_stat(txn_, dbi, &st) != 0) return;
        pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
        page_size = st.ms_psize;
    };
    add(kFreeDbi);
    add(kMainDbi);
    for (unsigned i = 0; i < static_cast<unsigned>(Db::count_); i++)
        add(store_->dbi(Db(i)));
    std::size_t used = pages * page_size;
    return used >= info.me_mapsize ? 0 : info.me_mapsize - used;
}

namespace {

// MDB_NOTFOUND ends a scan; anything else is kept as its failure.
bool cursor_step(MDB_cursor* cur, MDB_val& k, MDB_cursor_op op, Txn::Entry& e, int& rc) {
    MDB_val v{};
    int got = mdb_cursor_get(cur, &k, &v, op);
    if (got != 0) {
        rc = got == MDB_NOTFOUND ? 0 : got;
        return false;
    }
    e = Txn::Entry{from_val(k), from_val(v)};
    return true;
}

}  // namespace

bool Txn::cursor_first(MDB_cursor* cur, std::string_view from, Entry& e, int& rc) {
    MDB_val k = to_val(from);
    return cursor_step(cur, k, from.empty() ? MDB_FIRST : MDB_SET_RANGE, e, rc);
}

bool Txn::cursor_next(MDB_cursor* cur, Entry& e, int& rc) {
    MDB_val k{};
    return cursor_step(cur, k, MDB_NEXT, e, rc);
}

// The greatest key below `below`: the first at or after it, then one back
// (or the last key when none is at or after it). Empty: the last key.
bool Txn::cursor_last_below(MDB_cursor* cur, std::string_view below, Entry& e, int& rc) {
    MDB_val k = to_val(below);
    if (!below.empty() && cursor_step(cur, k, MDB_SET_RANGE, e, rc)) {
        MDB_val none{};
        return cursor_step(cur, none, MDB_PREV, e, rc);
    }
    if (rc != 0) return false;
    MDB_val none{};
    return cursor_step(cur, none, MDB_LAST, e, rc);
}

bool Txn::cursor_prev(MDB_cursor* cur, Entry& e, int& rc) {
    MDB_val k{};
    return cursor_step(cur, k, MDB_PREV, e, rc);
}

void Txn::cursor_close(MDB_cursor* cur) { mdb_cursor_close(cur); }

Result<std::size_t> Txn::entries(Db db) {
    MDB_stat st{};
    if (int rc = mdb_stat(txn_, store_->dbi(db), &st); rc != 0) return store_error(rc, "stat");
    return static_cast<std::size_t>(st.ms_entries);
}

Result<MDB_cursor*> Txn::cursor(Db db) {
    MDB_cursor* c = nullptr;
    int rc = mdb_cursor_open(txn_, store_->dbi(db), &c);
    if (rc != 0) return store_error(rc, "cursor");
    return c;
}

Result<std::optional<Txn::Entry>> Txn::first_with_prefix(Db db, std::string_view prefix,
                                                         std::string_view from) {
    std::optional<Entry> found;
    // Keys with the prefix are >= prefix: a from below it starts at prefix.
    std::string_view start = from < prefix ? prefix : from;
    auto r = scan(db, start, [&](const Entry& e) {
        if (e.key.substr(0, prefix.size()) == prefix) found = e;
        return false;
    });
    if (!r) return r.error();
    return found;
}

Result<std::uint64_t> read_counter(Txn& txn, std::string_view key) {
    auto got = txn.get(Db::meta, key);
    if (!got) return got.error();
    if (!*got) return std::uint64_t{0};
    if ((*got)->size() != 8) return make_error("store_corrupt", "meta counter size");
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | static_cast<unsigned char>((**got)[i]);
    return v;
}

Result<std::uint64_t> add_counter(Txn& txn, std::string_view key, std::int64_t delta) {
    auto v = read_counter(txn, key);
    if (!v) return v.error();
    std::uint64_t n = *v;
    if (delta >= 0) {
        n += static_cast<std::uint64_t>(delta);
    } else {
        auto down = static_cast<std::uint64_t>(-(delta + 1)) + 1;
        n = n > down ? n - down : 0;
    }
    if (auto r = write_counter(txn, key, n); !r) return r.error();
    return n;
}

Result<void> write_counter(Txn& txn, std::string_view key, std::uint64_t value) {
    char buf[8];
    for (int i = 0; i < 8; i++)
        buf[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return txn.put(Db::meta, key, std::string_view(buf, sizeof(buf)));
}

}  // namespace wa
