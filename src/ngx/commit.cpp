#include "commit.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include "metrics.hpp"

namespace wa::ngx {

namespace {

OwnEvent g_flush;                      // hands the queue over once per loop turn
ngx_connection_t* g_notify = nullptr;  // the eventfd the writer thread signals
GroupCommit::Stats g_counted;

void account() {
    GroupCommit::Stats now = worker()->commit->stats();
    GroupCommit::Stats delta = now.since(g_counted);
    count(Counter::commit_batches, static_cast<ngx_atomic_int_t>(delta.batches));
    count(Counter::commit_items, static_cast<ngx_atomic_int_t>(delta.items));
    count_commit(delta);
    g_counted = now;
}

void flush_handler(ngx_event_t* ev) noexcept {
    try {
        if (Worker* w = worker()) w->commit->flush();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0, "whatsapp commit: %s", e.what());
    }
}

void committed_handler(ngx_event_t* ev) noexcept {
    std::uint64_t n;
    while (read(g_notify->fd, &n, sizeof n) > 0) {
    }
    try {
        if (Worker* w = worker()) {
            w->commit->complete();
            account();
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0, "whatsapp commit: %s", e.what());
    }
}

}  // namespace

ngx_int_t commit_init_process(ngx_cycle_t* cycle, Worker& w) {
    g_flush.init(flush_handler, cycle->log);

    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno, "whatsapp: eventfd() failed");
        return NGX_ERROR;
    }
    g_notify = ngx_get_connection(fd, cycle->log);
    if (g_notify == nullptr) {
        close(fd);
        return NGX_ERROR;
    }
    g_notify->read->handler = committed_handler;
    g_notify->read->log = cycle->log;
    if (ngx_add_event(g_notify->read, NGX_READ_EVENT, 0) != NGX_OK) return NGX_ERROR;

    w.commit->start([fd] {
        std::uint64_t one = 1;
        // A full counter still wakes the loop: nothing to do on EAGAIN.
        [[maybe_unused]] ssize_t rc = write(fd, &one, sizeof one);
    });
    return NGX_OK;
}

void commit_exit_process(Worker& w) {
    w.commit->stop();  // commits what is queued, runs its completions
    if (g_notify) {
        ngx_close_connection(g_notify);
        g_notify = nullptr;
    }
}

void submit(GroupCommit::Work work, GroupCommit::Done done, GroupCommit::Room room) {
    worker()->commit->submit(std::move(work), std::move(done), room);
    // Hand over once per event-loop turn: posted events run after its I/O.
    if (!g_flush.ev.posted) {
        ngx_post_event(&g_flush.ev, &ngx_posted_events);
    }
}

}  // namespace wa::ngx
