# bench/reply's locations, for run.sh and instructions.sh: the reply, its
# Graph subrequest's location, and the baselines (bare proxy_pass, and
# proxy_pass + mirror, SPEC §11's). Sourced after bench/lib.sh.
# shellcheck shell=bash
graph_messages=http://bench_graph/v21.0/106540352242922/messages

reply_server_lines() { echo "
        location = /v2/notify/reply { whatsapp_reply; }
        location /_whatsapp/graph/ {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_pass http://bench_graph/v21.0/;
        }
        location = /bare {
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_pass $graph_messages;
        }
        location = /proxy_mirror {
            mirror /cb;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_pass $graph_messages;
        }"; }
