// A Store in a fresh temporary directory, removed after each test.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace wa::unit {

class StoreFixture : public ::testing::Test {
protected:
    // Tests that need a tiny map (map-full paths) override this.
    virtual std::size_t map_size() const { return std::size_t{64} << 20; }

    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "wa_test_XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        reopen();
    }

    Store::Options options(bool read_only = false) const {
        Store::Options opts;
        opts.path = dir_;
        opts.map_size = map_size();
        opts.read_only = read_only;
        return opts;
    }

    // Closes the store and opens it again, as a restart would.
    void reopen(bool read_only = false) {
        store_.reset();
        auto s = Store::open(options(read_only));
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(*s);
    }

    void TearDown() override {
        store_.reset();
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }

    Txn write() {
        auto t = store_->begin_write();
        EXPECT_TRUE(t.ok()) << t.error().message;
        return std::move(t).value();
    }

    Txn read() {
        auto t = store_->begin_read();
        EXPECT_TRUE(t.ok()) << t.error().message;
        return std::move(t).value();
    }

    std::string dir_;
    std::unique_ptr<Store> store_;
};

}  // namespace wa::unit
