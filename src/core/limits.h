/*
 * limits.h: every limit of Riposte, in one reviewed place, each with its reason.
 *
 * A limit exists so that no input, however large or hostile, can make the daemon
 * use unbounded memory, time or disk. When a limit is reached the input is
 * rejected (or the caller is told to retry), counted and reported; the daemon
 * keeps serving. Change a value here, never inline.
 */
#ifndef RP_CORE_LIMITS_H
#define RP_CORE_LIMITS_H

/* --- input records ---------------------------------------------------------- */

/* One alert record (one NDJSON line, one array element, one object). Real vendor
 * alerts are 1-20 KB; a CrowdStrike detection with a full process tree reaches a
 * few hundred KB. 1 MiB leaves room and bounds the JSON tree built per record. */
#define RP_RECORD_MAX_BYTES (1024u * 1024u)

/* Nesting of a record's JSON. The normalized alert is at most 4 deep; vendor
 * originals kept in `raw` reach 10-15. 64 refuses pathological nesting long
 * before jansson's own recursion limit (2048) and the stack are at risk. */
#define RP_JSON_MAX_DEPTH 64

/* One string field of the normalized alert (title, command line, subject). A
 * command line can be long (encoded PowerShell); 64 KiB holds it. */
#define RP_FIELD_MAX_BYTES (64u * 1024u)

/* Short identifier fields (names, ids, rule, source, user, host). Longer values
 * are not names but data in the wrong place. */
#define RP_NAME_MAX_BYTES 1024u

/* Observables per alert, explicit and derived together. A phishing mail with many
 * links reaches tens; 256 bounds the rows one alert can write. */
#define RP_OBSERVABLES_MAX 256

/* Entries of any array in the normalized alert (email.to, email.urls,
 * attachments, tags). */
#define RP_ARRAY_MAX 1024

/* One line of a line format (syslog, CEF, LEEF). Syslog over UDP is at most
 * 64 KiB; CEF over TCP with long command lines reaches a few hundred KiB. */
#define RP_INGEST_LINE_MAX (256u * 1024u)

/* One whole-input record (a mail with its attachments, one Windows event XML):
 * the HTTP body limit, so that what the API accepts the CLI accepts too. */
#define RP_INGEST_WHOLE_MAX (32u * 1024u * 1024u)

/* Syslog received by `serve` is committed in groups: when this many messages
 * wait, or RP_SYSLOG_FLUSH_MS after the first of a group arrived. A sender
 * gets no acknowledgement either way; the delay only bounds how long a message
 * sits in memory before it is stored. */
#define RP_SYSLOG_FLUSH_MS 200

/* TCP syslog connections at once, and the bytes one may hold while a message is
 * incomplete (an octet-counted frame is at most a line). */
#define RP_SYSLOG_TCP_CONNECTIONS_MAX 256

/* Bytes read from a file or pipe at a time while streaming records. Files are
 * never loaded whole: memory stays at one chunk plus one record whatever the
 * file's size. 1 MiB amortises the read calls. */
#define RP_INGEST_READ_CHUNK (1024u * 1024u)

/* Events in one case's timeline returned by `case show` / the API: a noisy case
 * can gather millions of joins; the newest are shown, with a count. */
#define RP_TIMELINE_SHOW_MAX    1000
#define RP_CASE_ALERTS_SHOW_MAX 1000

/* Cases returned by one list call. */
#define RP_CASE_LIST_MAX 10000

/* --- JSON node cache (core/jsonmem.c) --- */

/* Largest block the per-thread cache keeps: jansson's nodes, object key pairs
 * and most field strings of an alert are under 256 bytes; longer strings are
 * rarer and cost little next to the work of reading them. */
#define RP_JSONMEM_MAX_BLOCK 256u

/* Bytes a thread keeps cached per size class (16 classes of 16 bytes): 64 KiB
 * holds the nodes of a few dozen freed alerts, so steady ingest never reaches
 * malloc, and bounds the cache at 1 MiB a thread whatever a burst freed. */
#define RP_JSONMEM_CLASS_BYTES (64u * 1024u)

/* --- store -------------------------------------------------------------------- */

/* Records committed in one transaction. One fsync per group is what makes
 * durable ingest fast; 4096 keeps one transaction's WAL growth (a few MB) and the
 * latency of the first record in the group small. */
#define RP_COMMIT_GROUP_MAX 4096

/* How long a writer waits for another process holding the SQLite write lock
 * (the CLI while the daemon runs, or the reverse) before reporting busy. */
#define RP_STORE_BUSY_TIMEOUT_MS 10000

/* Dead-letter rows keep the rejected bytes for inspection, truncated to this. */
#define RP_DEADLETTER_RAW_MAX (64u * 1024u)

/* A fingerprint given by the source itself (a SIEM's dedup key) is kept as it is
 * up to this length; computed ones are 64 hex digits. */
#define RP_FINGERPRINT_MAX 128

/* A case's title is its first alert's title, cut (on a UTF-8 boundary) to this:
 * enough for a list view, and the alert keeps the whole. */
#define RP_CASE_TITLE_MAX 256

/* --- correlation -------------------------------------------------------------- */

/* Default window in which an alert joins the open case of its fingerprint: a
 * working day and night, so a repeat the next shift still lands in one case. */
#define RP_CORRELATE_WINDOW_DEFAULT_MS (24LL * 3600 * 1000)

/* Event times more than this in the future are rejected: they would give
 * negative times to detect and poison the KPIs. An hour covers clock skew. */
#define RP_EVENT_TIME_MAX_FUTURE_MS (3600LL * 1000)

/* --- HTTP API ----------------------------------------------------------------- */

/* Request body. A batch of 1000 typical alerts is 1-2 MB; 32 MiB accepts large
 * batches while refusing (413) what would only exhaust memory. */
#define RP_HTTP_BODY_MAX (32u * 1024u * 1024u)

/* Ingest requests waiting for the writer. Each holds its body; at the body limit
 * this bounds memory, and at typical sizes it lets thousands of single-alert
 * requests share one commit. Beyond it: 503 with Retry-After. */
#define RP_INGEST_QUEUE_MAX       8192
#define RP_INGEST_QUEUE_BYTES_MAX (256u * 1024u * 1024u)

/* Seconds a client is told to wait (Retry-After) when the queue is full. */
#define RP_RETRY_AFTER_S 1

/* Concurrent connections; beyond, the kernel backlog and then refusal. */
#define RP_HTTP_CONNECTIONS_MAX 4096

/* A connection idle this long is closed, so slow clients cannot hold slots. */
#define RP_HTTP_IDLE_TIMEOUT_S 60

/* Per-record errors listed in a 400 answer; the count is always exact. */
#define RP_HTTP_ERRORS_LISTED_MAX 1000

/* Bytes of request bodies being received or parsed at once, over all
 * connections. RP_HTTP_CONNECTIONS_MAX clients each sending RP_HTTP_BODY_MAX
 * would otherwise claim 128 GiB; with this cap the daemon holds at most 8 full
 * bodies in flight (plus the queue) and answers the rest 503 + Retry-After. */
#define RP_HTTP_BODIES_BYTES_MAX (256u * 1024u * 1024u)

/* HTTP threads (libmicrohttpd's pool): one per CPU up to this. They parse and
 * normalize alerts; the one writer thread commits, so more threads than cores
 * only add contention. */
#define RP_HTTP_THREADS_MAX 8

/* Stack of each HTTP thread. Their deepest work is jansson on a record nested
 * at most RP_JSON_MAX_DEPTH and SQLite reads, far below 512 KiB; the 8 MiB
 * default would only reserve address space. */
#define RP_HTTP_THREAD_STACK (512u * 1024u)

/* On SIGTERM/SIGINT, how long requests already begun may take to finish (body
 * upload, commit, answer) before the daemon commits what is queued and stops
 * anyway. Supervisors wait about 10 s before SIGKILL (Docker, systemd's
 * default is 90 s); grace + flush below stay well under 10 s. */
#define RP_SHUTDOWN_GRACE_MS 7000

/* After the last commit at shutdown, how long the HTTP threads get to send
 * the answers of that commit before the connections are closed. */
#define RP_SHUTDOWN_FLUSH_MS 1000

/* --- tokens ------------------------------------------------------------------- */

/* Random bytes in an API token: 256 bits, beyond guessing. */
#define RP_TOKEN_BYTES 32

/* A token's name: it is shown in lists, logs and timelines ("api:<name>"),
 * so it is short and plain ([A-Za-z0-9._@-]). */
#define RP_TOKEN_NAME_MAX 64

/* Verified tokens the daemon remembers, so that a request does not cost a
 * database read. Each entry is under 100 bytes; a deployment has tens of tokens. */
#define RP_AUTH_CACHE_MAX 256

/* How long a verified token is trusted without asking the database again: a
 * token revoked with `riposte token revoke` while the daemon runs is refused
 * at most this much later. */
#define RP_AUTH_CACHE_TTL_MS 1000

/* --- configuration ------------------------------------------------------------ */

#define RP_CONFIG_MAX_BYTES (1024u * 1024u)

/* Nesting of a configuration value (a connector section holds a mapping of a
 * few levels; 32 takes any real one and bounds the recursion that reads it). */
#define RP_CONFIG_DEPTH_MAX       32
#define RP_FINGERPRINT_FIELDS_MAX 16

/* --- vendor normalizers ------------------------------------------------------ */

/* Parts of a dotted path a vendor mapper reads ("kibana.alert.rule.name" is 4):
 * the deepest vendor field read is 5 deep; 8 bounds the walk. */
#define RP_VENDOR_PATH_SEGMENTS_MAX 8

/* One key of such a path: vendor keys are tens of bytes ("kibana.alert.rule.
 * name" read as one literal key is the longest, 22). */
#define RP_VENDOR_KEY_MAX 128

/* A key compared case-insensitively is looked for only in objects of at most
 * this many keys: vendor objects have tens; a hostile object with a million keys
 * must not cost a million comparisons per field read. */
#define RP_VENDOR_CASEFOLD_KEYS_MAX 512

/* extra.<vendor>: the vendor's own fields that have no normalized place. Keys,
 * string length and array entries are bounded so that extra stays a summary
 * (the whole document is in raw): a CrowdStrike detection has about 30 such
 * fields, a description a few hundred bytes, a list of TTPs tens of entries. */
#define RP_VENDOR_EXTRA_KEYS_MAX   48
#define RP_VENDOR_EXTRA_STRING_MAX 4096
#define RP_VENDOR_EXTRA_ARRAY_MAX  32

/* Entries of a vendor list read for fields (CrowdStrike behaviors, Defender and
 * Graph evidence, Okta targets): real alerts carry a handful to tens. */
#define RP_VENDOR_LIST_MAX 64

/* Explicit observables a vendor mapping adds (evidence IPs, URLs, domains) on
 * top of those derived from the typed fields; well under RP_OBSERVABLES_MAX. */
#define RP_VENDOR_OBSERVABLES_MAX 64

/* Fields named in extra.<vendor>.dropped (values the gate would refuse). */
#define RP_VENDOR_DROPPED_MAX 16

/* One Windows event as XML. A Security event with its RenderingInfo is 2-8 KB;
 * a 4688 with a 32K-character command line stays under 200 KB. Larger input is
 * refused before libxml2 sees it. */
#define RP_WINEVENT_XML_MAX (256u * 1024u)

/* <Data> elements read from one event's EventData: Security events have up to
 * about 30. */
#define RP_WINEVENT_DATA_MAX 256

/* Bytes in the name of one EventData field (its Name attribute, or the element
 * name under UserData). Windows names its fields in under 40 ASCII letters; a
 * longer name is refused rather than cut (a cut could split a character). */
#define RP_WINEVENT_NAME_MAX 127

/* --- mail --------------------------------------------------------------------- */

/* One raw mail (ingest/mail.c): the whole-input record limit. Gmail and
 * Exchange Online accept 25 MB of attachments, about 33 MB once base64-encoded,
 * which 32 MiB just holds; GMime's tree of a mail costs about twice its size. */
#define RP_MAIL_MAX_BYTES RP_INGEST_WHOLE_MAX

/* Header fields in one header block (the message's, or one MIME part's).
 * Office 365 mail carries 60-150 fields and long relay chains 50 Received
 * lines; 1000 is several times the worst real mail. More is a mail built to
 * slow the parser down, and it is rejected. */
#define RP_MAIL_HEADERS_MAX 1000

/* MIME nesting, multiparts and attached messages counted together. A user's
 * report of a forwarded mail is 6-8 deep (mixed > message > mixed > related >
 * alternative > text); 16 leaves room for forwards of forwards. Deeper is
 * rejected. (GMime bounds its own recursion at 1024 multipart and 512 message
 * levels, which stays within a 128 KiB stack.) */
#define RP_MAIL_DEPTH_MAX 16

/* MIME entities in one mail, all levels together. Newsletters with inline
 * images reach 50-100; 512 bounds the walk and the attachment hashing work. */
#define RP_MAIL_PARTS_MAX 512

/* Distinct URLs kept in email.urls, links kept in email.links, and attachments
 * listed in email.attachments; more are counted and named in extra.truncated.
 * Each URL is one observable and each attachment up to four (name, md5, sha1,
 * sha256), plus three senders: 120 + 4 * 32 + 3 = 251 stays within
 * RP_OBSERVABLES_MAX, so a mail never fails normalisation for its link count.
 * Phishing mails carry 1-30 links and 0-5 attachments. */
#define RP_MAIL_URLS_MAX        120
#define RP_MAIL_LINKS_MAX       120
#define RP_MAIL_ATTACHMENTS_MAX 32

/* One URL. Tracking and phishing URLs with tokens reach 2-4 KiB; longer ones
 * are dropped (counted in extra.truncated) rather than cut into a wrong URL. */
#define RP_MAIL_URL_MAX_BYTES 8192

/* Visible text kept per link (email.links[].text): a sentence, not a page. */
#define RP_MAIL_LINK_TEXT_MAX 512

/* Received lines kept (email.received) and recipients listed (email.to).
 * Real relay chains are under 20 hops; mass mail lists its recipients in Bcc. */
#define RP_MAIL_RECEIVED_MAX   64
#define RP_MAIL_RECIPIENTS_MAX 100

/* --- syslog, CEF, LEEF --- */

/* (The length of one line is RP_INGEST_LINE_MAX above. A line costs at most a
 * repaired copy, 3x when every byte is invalid UTF-8, and its unescaped values,
 * never longer than the line.) */

/* key=value fields in one CEF extension or one LEEF event. The CEF dictionary
 * has about 150 keys and a real event uses 10-40; 256 bounds the work and the
 * JSON built per line. */
#define RP_CEF_EXT_MAX 256

/* Length of one CEF/LEEF key. The longest dictionary key is 31 bytes
 * (deviceCustomIPv6Address1Label); vendor keys are as short. A longer run before
 * an '=' is value text, not a key. */
#define RP_CEF_KEY_MAX 128

/* RFC 5424 structured data: SD elements per message and parameters per element.
 * Real senders use 1-5 elements of 1-20 parameters; more is an attack on the
 * JSON built from them. */
#define RP_SYSLOG_SD_ELEMENTS_MAX 64
#define RP_SYSLOG_SD_PARAMS_MAX   128

/* "Key: value" fields of one CylancePROTECT syslog event: a threat event has 20;
 * 64 leaves room for versions that add some. */
#define RP_CYLANCE_FIELDS_MAX 64

/* --- IOC extraction --- */

/* Indicators reported from one text (intel/extract.h). A threat report lists
 * tens to a few hundred; an IOC feed pasted whole, a few thousand. Past 10000
 * the text is a data dump: the first 10000 are reported and the call says
 * RP_E_LIMIT, so the hash set that drops repeats stays small. */
#define RP_IOC_MAX 10000

/* Bytes of distinct values kept for that de-duplication. At the usual 10-60
 * bytes an indicator RP_IOC_MAX comes first; only thousands of long URLs reach
 * this, which bounds the set's memory to a few MB whatever the text. */
#define RP_IOC_BYTES_MAX (4u * 1024u * 1024u)

/* One URL. RFC 9110 asks for at least 8000 octets and servers and browsers
 * stop near 8 KiB; a longer run of URL characters is an encoded blob, not a
 * link anyone follows, and is not reported (its host still is). */
#define RP_IOC_URL_MAX 8192

/* One defang separator run between two labels ("[.]", "example  [[ . ]] com",
 * "user [ at ] example"). The longest spelling in public test sets is about 20
 * bytes; 32 keeps the look-ahead at each label end constant. */
#define RP_IOC_SEP_MAX 32

/* Text read by `riposte extract` (the whole input is scanned in one piece, so
 * it is held in memory). Reports, mails and logs are KBs to MBs; 64 MiB takes a
 * large log or feed and refuses what would only exhaust memory. */
#define RP_IOC_INPUT_MAX (64u * 1024u * 1024u)

/* --- records holding several alerts --- */

/* Elements of one record read as separate alerts: the alerts of an API page
 * ({"value": [...]}, {"resources": [...]}, hits.hits, ...) or the events of an
 * <Events> export. The APIs page at most 10,000 (Defender's $top, CrowdStrike's
 * limit, Elastic's result window); the JSON page itself stays within
 * RP_RECORD_MAX_BYTES, an <Events> file within RP_INGEST_WHOLE_MAX. Beyond this
 * count the rest of the record is one rejection that says so. */
#define RP_INGEST_ELEMENTS_MAX 10000

/* --- expressions (expr/) --- */

/* Bytes of one expression's source (a `when:`, one `{{ }}` part). Conditions
 * are tens of bytes; a long switch value a few hundred. 4 KiB is generous and
 * keeps the compile cache (RP_EXPR_CACHE_MAX entries) under 4 MiB of text. */
#define RP_EXPR_SOURCE_MAX 4096u

/* Lua VM instructions one evaluation may run. A condition runs 5-50; a helper
 * loop over a thousand observables tens of thousands. One million is about
 * 2 ms of the engine loop (measured; more with helper calls): a runaway loop
 * costs that, not the daemon. */
#define RP_EXPR_INSTRUCTIONS_MAX 1000000

/* Bytes of Lua memory one evaluation may add to what the state held when it
 * began. Lazy views copy nothing, so only strings the expression builds count:
 * a lower-cased 2 MB mail body is 2 MB. 32 MiB is far above that and bounds
 * `string.rep("x", 1e9)` per worker thread. */
#define RP_EXPR_MEMORY_MAX (32u * 1024u * 1024u)

/* Compiled expressions cached per state, by source text. The playbooks of a
 * deployment hold hundreds of distinct expressions; past this the least
 * recently used is dropped (a compile costs tens of microseconds). */
#define RP_EXPR_CACHE_MAX 1024

/* Worst-case steps a Lua pattern match may take, estimated before it runs
 * (pattern items x subject length^(repetitions + 1) x 2^optionals; see
 * fn.c). Lua matches patterns by backtracking inside C, where the instruction
 * limit cannot stop it; a step is about a nanosecond, so the worst match
 * allowed takes under 0.1 s (7.5e7 steps measured at 60 ms). Calls above the
 * bound are refused with an error. */
#define RP_EXPR_PATTERN_COST_MAX 1e8

/* Bytes fn.parse_json accepts: its tree lives outside the Lua memory limit
 * (jansson's malloc), so it is bounded here; an API answer held in a step
 * output is KBs to a few MB. */
#define RP_EXPR_PARSE_JSON_MAX (4u * 1024u * 1024u)

/* Bytes of one rendered text template (a mail body, a ticket description):
 * 1 MiB is many pages; more is a runaway template. */
#define RP_TEMPLATE_OUTPUT_MAX (1024u * 1024u)

/* --- playbooks (playbook/) --- */

/* One playbook file. The longest real playbooks (phishing triage with many
 * branches) are 10-30 KB of YAML; 1 MiB leaves room for embedded mail templates
 * and bounds the node tree libyaml events build (a few times the text). */
#define RP_PLAYBOOK_MAX_BYTES (1024u * 1024u)

/* YAML nodes (scalars, sequences, mappings) in one playbook file. A 30 KB
 * playbook has about 2000; a flow list of single digits could otherwise make
 * 500000 nodes out of 1 MiB. */
#define RP_PLAYBOOK_NODES_MAX 65536

/* Nesting of the YAML (mappings and sequences, steps and `with` values
 * together). A step four lists deep sits at depth 10 and its `with` a few
 * more; JSON values built from the YAML then stay within RP_JSON_MAX_DEPTH, and
 * the loader's recursion over values is bounded by it. */
#define RP_PLAYBOOK_YAML_DEPTH_MAX RP_JSON_MAX_DEPTH

/* Steps in one playbook, every list counted. Real playbooks have 5-100; a
 * thousand is a program, not a playbook, and bounds the run's state row. */
#define RP_PLAYBOOK_STEPS_MAX 1000

/* Lists inside lists (for_each, while, group, parallel bodies). Real playbooks
 * nest 2-3 deep; 8 bounds the engine's and the loader's recursion over them. */
#define RP_PLAYBOOK_NESTING_MAX 8

/* A step id as written (steps.ID in expressions, the run's trace) and a
 * playbook's name (a file name and an API path part): names, not text. */
#define RP_PLAYBOOK_ID_MAX   64
#define RP_PLAYBOOK_NAME_MAX 128

/* Options one prompt offers: a person picks among a few buttons; 16 already
 * does not fit a chat message. */
#define RP_PLAYBOOK_PROMPT_OPTIONS_MAX 16

/* Cases of one switch: a verdict or a severity label has a handful of values;
 * 128 bounds the jump table and the cycle check's work per step. */
#define RP_PLAYBOOK_SWITCH_CASES_MAX 128

/* Branches of one parallel step: each is started at once, so this bounds the
 * calls one step can put in flight. */
#define RP_PLAYBOOK_BRANCHES_MAX 32

/* for_each iterations running at once: each holds connector calls in flight; 32
 * keeps one run from monopolising a connector's rate limit. */
#define RP_PLAYBOOK_CONCURRENCY_MAX 32

/* Highest `max:` of a while loop: polling every 30 s for a day is 2880 rounds;
 * 10000 bounds the events one loop can append to a run's log. */
#define RP_PLAYBOOK_WHILE_MAX 10000

/* Retries of one step after the first attempt. With backoff doubling from 1 s,
 * 20 retries already wait more than 12 days in total. */
#define RP_PLAYBOOK_RETRY_MAX 20

/* Longest duration a playbook may write (timeout, wait, backoff, prompt
 * deadline): a year. Longer is a typo ("1000d"), and it keeps deadlines and
 * doubled backoffs far from int64 overflow. */
#define RP_PLAYBOOK_DURATION_MAX_MS (366LL * 24 * 3600 * 1000)

/* Runs of one playbook at once (`max_concurrent:`); the engine has its own
 * overall bound, this only refuses a number no deployment could mean. */
#define RP_PLAYBOOK_MAX_CONCURRENT_MAX 10000

/* Playbook files read from one directory by `serve`: deployments have tens;
 * 1000 bounds the start-up and reload time. */
#define RP_PLAYBOOKS_PER_DIR_MAX 1000

/* --- CACAO (playbook/cacao*) --- */

/* One CACAO playbook file. The largest public ones (SOARCA, the OASIS
 * examples) are under 100 KB; 4 MiB holds a playbook with thousands of steps
 * and refuses what would only exhaust memory before the JSON is parsed. */
#define RP_CACAO_MAX_BYTES (4u * 1024u * 1024u)

/* Workflow steps in one playbook, and agent, target and variable definitions.
 * Real playbooks have tens of steps; 4096 bounds the graph walk (each step is
 * visited once per list it is laid out in) and the depth of its recursion. */
#define RP_CACAO_STEPS_MAX 4096
#define RP_CACAO_DEFS_MAX  1024

/* Commands in one action step: each becomes one Riposte step. CACAO examples
 * use one to a handful. */
#define RP_CACAO_COMMANDS_MAX 64

/* Nesting of parallel and while-condition steps (each a nested list), and of
 * the Riposte YAML written for them. Playbooks nest two or three levels; 32
 * bounds the recursion of the import and of the YAML emitter. */
#define RP_CACAO_DEPTH_MAX 32

/* One condition (STIX comparison expression) and its nesting of brackets,
 * parentheses and NOT: conditions are one line; the bound keeps the recursive
 * descent parser's stack small. */
#define RP_CACAO_COND_MAX       4096
#define RP_CACAO_COND_DEPTH_MAX 32

/* A CACAO while-condition has no bound; Riposte's while needs one. 1000
 * iterations is far more than a polling loop needs and still ends a loop
 * whose condition never turns false. */
#define RP_CACAO_WHILE_MAX 1000

/* --- engine and runs (engine/) --- */

/* A step key: the step id with the iteration and sub-playbook path in front
 * ("hosts[12]/contain"). Ids are short; nesting is bounded by the loader. */
#define RP_STEP_KEY_MAX 512

/* Runs held in memory at once (in flight or waiting). A run waiting on a
 * prompt costs a few KB; 100000 stay within a few hundred MB, and past that
 * new starts are refused with BUSY rather than exhausting memory. */
#define RP_ENGINE_RUNS_MAX 100000

/* Items one for_each takes. A runaway list (every host of a SIEM query) must
 * be bounded by the playbook author with a filter, not expanded by the engine. */
#define RP_FOR_EACH_ITEMS_MAX 10000

/* Sub-playbooks inside sub-playbooks. The loader cannot see a recursion
 * across files; the engine stops it here. */
#define RP_SUB_DEPTH_MAX 8

/* Walk rounds per turn of the loop before the loop gets to poll I/O again. */
#define RP_ENGINE_WALK_ROUNDS 16

/* Wait before retrying a group commit that failed (disk full, lock held). */
#define RP_ENGINE_RETRY_MS 200

/* How often the engine looks for prompts answered by another process, for
 * the kill switch (which must hold within a second on every node) and for
 * expired containments; and how many answers one look takes (the rest come
 * at the next look). */
#define RP_PROMPT_POLL_MS  500
#define RP_PROMPT_POLL_MAX 1000

/* The body of a small API request (start a run, answer a prompt, a form
 * posted from an answer link): a playbook name with an alert and inputs is a
 * few KB, an answer a few bytes. 64 KiB holds a large alert and keeps these
 * bodies, read whole before they are parsed, from taking ingest's budget. */
#define RP_HTTP_SMALL_BODY_MAX (64u * 1024u)

/* Runs or prompts one API list call returns (?limit=N, 100 without it): a
 * page a person or a script reads, not an export. */
#define RP_RUN_LIST_MAX 1000

/* --- blocklists --- */

/* Entries one blocklist serves, and the bytes of its text. Firewalls and
 * proxies take feeds of tens of thousands of entries; a list past 100,000 is
 * a runaway playbook, and the feed stops there rather than grow unbounded. */
#define RP_BLOCKLIST_ENTRIES_MAX 100000
#define RP_BLOCKLIST_TEXT_MAX    (16u * 1024u * 1024u)

/* --- connectors (connect/) --- */

/* Connector instances in one configuration. A SOC integrates tens of tools;
 * 256 is far above that and bounds the action registry (ACTION_REGISTRY_MAX). */
#define RP_CONNECTORS_MAX 256

/* smtp: recipients of one mail (to + cc). A notice goes to a team or to the
 * users a phishing mail reached; 500 is far above one campaign's notice list
 * and keeps a templated list from mailing the whole company by mistake. */
#define RP_SMTP_RCPTS_MAX 500

/* smtp: one header value (subject, one address) before encoding. RFC 5322
 * lines stop at 998 bytes; a longer subject is a template gone wrong. */
#define RP_SMTP_HEADER_MAX 998

/* smtp: a whole encoded message (headers, both bodies, base64/QP overhead).
 * Notices are text; 10 MiB is Postfix's default message_size_limit. */
#define RP_SMTP_MESSAGE_MAX (10u * 1024u * 1024u)

/* smtp and imap: seconds for connecting, and for a whole transfer, when the
 * configuration says nothing; a peer that stalls ends the call, never the
 * worker thread it runs on. */
#define RP_MAIL_CONNECT_TIMEOUT_S 10
#define RP_MAIL_TIMEOUT_S         60

/* imap: one fetched message. Mail servers refuse more than 25-50 MiB; a
 * bigger one is skipped (and marked processed) rather than held in memory. */
#define RP_IMAP_MESSAGE_MAX (32u * 1024u * 1024u)

/* imap: the text of one command's untagged answers (SEARCH, LIST, STATUS,
 * header fields): a SEARCH of 100,000 UIDs is about 700 KB. */
#define RP_IMAP_RESPONSE_MAX (4u * 1024u * 1024u)

/* imap: messages one poll of a source hands to the sink; the rest wait for
 * the next poll, so a flood of reports cannot hold a worker thread for long. */
#define RP_IMAP_POLL_BATCH 50

/* imap: users and mailboxes (folders) one search or delete visits. A
 * company's mailboxes are thousands; a folder tree rarely has 100. */
#define RP_IMAP_USERS_MAX   10000
#define RP_IMAP_FOLDERS_MAX 256

/* imap: matches one search reports and one delete acts on. A campaign
 * reaches hundreds of mailboxes; more is a criterion that matches too much,
 * and the call fails instead of deleting half of it. */
#define RP_IMAP_MATCHES_MAX 5000

/* imap: messages per folder whose bodies a search by attachment hash
 * fetches and hashes (the newest multipart ones): the search is bounded in
 * time and bytes, and says when it stopped short. */
#define RP_IMAP_HASH_CANDIDATES_MAX 200

/* ldap: a value looked up (uid, mail, sAMAccountName). Mail addresses stop at
 * 254 bytes (RFC 5321); anything longer is a mistake or an attack. */
#define RP_LDAP_VALUE_MAX 256

/* ldap: a search filter after the user's value is escaped into the
 * configured template (each byte may become three). */
#define RP_LDAP_FILTER_MAX 4096

/* ldap: group DNs find_user returns. Nested corporate groups reach hundreds;
 * past this the list is cut and `groups_truncated` says so. */
#define RP_LDAP_GROUPS_MAX 1000

/* ldap: the longest network or operation timeout accepted in the
 * configuration. A blocked call holds one of libuv's few pool threads
 * (4 by default, shared with file and DNS work), so it must stay short. */
#define RP_LDAP_TIMEOUT_MAX_S 120

/* ldap: calls of one instance queued or running at once; more are refused
 * as busy instead of queueing without bound on the shared thread pool. */
#define RP_LDAP_INFLIGHT_MAX 64

/* ldap: bounds of the generated password's length: 12 is the least most
 * policies (AD's complexity rule, NIST 800-63B) accept with a random value;
 * 128 is AD's and most directories' maximum. */
#define RP_LDAP_PASSWORD_MIN 12
#define RP_LDAP_PASSWORD_MAX 128

/* exec: result JSON a program may print on stdout. A result is a verdict or
 * a few records, not a data set; past this the program is killed and the
 * step fails. */
#define RP_EXEC_STDOUT_MAX (1024u * 1024u)

/* exec: the last bytes of stderr kept for the failure message (the error of
 * a step holds 512 bytes; the tail of a traceback is what says why). */
#define RP_EXEC_STDERR_TAIL 2048

/* exec: fixed arguments in an instance, and named actions of one instance. */
#define RP_EXEC_ARGS_MAX    64
#define RP_EXEC_ACTIONS_MAX 64

/* exec: the longest time limit accepted; an hour is a long scan. Longer work
 * belongs in a service polled by a playbook, not in one child process. */
#define RP_EXEC_TIMEOUT_MAX_S 3600

/* exec: after the program exits (or is killed), how long its pipes may stay
 * open (a grandchild that left the process group holds them) before the
 * result is taken as it is. */
#define RP_EXEC_DRAIN_MS 1000

/* Without pidfd_open (kernels before 5.3, valgrind) a child's exit is found by
 * waitpid(WNOHANG) this often: small against any program's run time. */
#define RP_EXEC_REAP_TICK_MS 10

/* exec: open files of a child (RLIMIT_NOFILE): a script needs a few dozen. */
#define RP_EXEC_NOFILE 256

/* exec: children of one instance running at once; more calls fail as busy
 * (each child may hold memory_mb of memory). */
#define RP_EXEC_RUNNING_MAX 32

/* A secret's name: an identifier an operator types and a configuration names
 * ({secret: NAME}); 64 characters of A-Z a-z 0-9 _ . - are plenty and keep
 * names out of the way of anything that could be mistaken for a value. */
#define RP_SECRET_NAME_MAX 64

/* A secret's value. API keys, passwords and OAuth client secrets are under 1 KB;
 * a PEM private key or a cloud service-account JSON is 2-4 KB. 64 KiB leaves
 * room for a certificate chain and bounds the locked memory one value takes. */
#define RP_SECRET_VALUE_MAX (64u * 1024u)

/* Secrets listed by one `secret list`: an installation has tens. */
#define RP_SECRETS_LIST_MAX 10000

/* How long a dns action waits for the resolver by default, and at most. The
 * system resolver retries its servers for up to 30 s (resolv.conf's timeout x
 * attempts); a playbook step should not stall that long on one lookup. */
#define RP_DNS_TIMEOUT_MS_DEFAULT 5000
#define RP_DNS_TIMEOUT_MS_MAX     60000

/* Addresses a dns.resolve returns: a round-robin name has a handful; CDNs tens.
 * The rest are counted, not listed, so one answer cannot bloat a run's output. */
#define RP_DNS_ADDRESSES_MAX 64

/* The http client, vendor packs and Lua actions (connect/http.c, pack.c,
 * lua_action.c). */

/* Bytes of one answer. Vendor pages are KBs to a few MB (a CrowdStrike page of
 * 100 detections with process trees is about 2 MB); 8 MiB holds any sane page
 * and refuses a runaway answer before it exhausts memory. */
#define RP_HTTPC_RESPONSE_MAX (8u * 1024u * 1024u)

/* A request body we build (a JSON or form body from a template). */
#define RP_HTTPC_REQUEST_BODY_MAX (4u * 1024u * 1024u)

/* A URL we build: RFC 9110 asks servers for 8000 octets; query strings of FQL
 * filters with many ids reach a few KB. */
#define RP_HTTPC_URL_MAX (16u * 1024u)

/* Attempts of one request (the first plus retries on 429/5xx/refused). With
 * the backoff below, 4 attempts wait about 3.5 s in total; an instance may
 * set `retries:` up to RP_HTTPC_ATTEMPTS_MAX - 1. */
#define RP_HTTPC_ATTEMPTS_DEFAULT 4
#define RP_HTTPC_ATTEMPTS_MAX     10

/* Backoff between attempts when the server gives no Retry-After: base
 * doubling per attempt, capped. */
#define RP_HTTPC_BACKOFF_BASE_MS 500
#define RP_HTTPC_BACKOFF_MAX_MS  30000

/* A Retry-After longer than this fails the request at once with the wait in
 * the message, instead of holding a playbook step for an hour. */
#define RP_HTTPC_RETRY_AFTER_MAX_MS 120000

/* Timeouts of every request: connecting (a dead host answers nothing, a
 * firewall drops SYNs), and the whole transfer (vendors answer in seconds;
 * search APIs within 30 s). An instance may set both. */
#define RP_HTTPC_CONNECT_TIMEOUT_MS 10000
#define RP_HTTPC_TIMEOUT_MS         60000

/* Pages one paged request follows (default and ceiling), and the items kept
 * over all its pages (the ingest bound on the elements of one record). */
#define RP_HTTPC_PAGES_DEFAULT 10
#define RP_HTTPC_PAGES_MAX     100
#define RP_HTTPC_ITEMS_MAX     10000

/* A cached OAuth2 token is refreshed this long before it expires (at most a
 * tenth of its lifetime), so a request never leaves with a token that expires
 * in flight. Tokens without expires_in live an hour. */
#define RP_HTTPC_TOKEN_MARGIN_MS  60000
#define RP_HTTPC_TOKEN_DEFAULT_MS 3600000
#define RP_HTTPC_TOKEN_MAX_BYTES  8192

/* Secret values one instance holds (client secret, password, API key, ...). */
#define RP_HTTPC_SECRETS_MAX 16

/* Loops with a live curl multi at once (the engine's, the daemon's sources,
 * tests): one multi per loop. */
#define RP_HTTPC_LOOPS_MAX 16

/* Connections one loop's client keeps to one host, and in all. Vendor APIs
 * throttle clients that open hundreds of connections; 16 keep-alive
 * connections carry thousands of requests a second, and the rest queue. */
#define RP_HTTPC_HOST_CONNECTIONS_MAX 16
#define RP_HTTPC_CONNECTIONS_MAX      256

/* A pack file, its actions, sources, settings and the requests of one action
 * or source: real packs have 5-15 actions of 1-3 requests. */
#define RP_PACK_MAX_BYTES    (1024u * 1024u)
#define RP_PACK_NODES_MAX    65536
#define RP_PACK_DEPTH_MAX    32
#define RP_PACK_ACTIONS_MAX  64
#define RP_PACK_SOURCES_MAX  16
#define RP_PACK_SETTINGS_MAX 32
#define RP_PACK_REQUESTS_MAX 8
#define RP_PACK_NAME_MAX     64

/* A source polls at most this often (a vendor's rate limit is per minute). */
#define RP_PACK_EVERY_MIN_MS 1000

/* Lua actions: instructions and memory per run (the run may wait for minutes
 * on a search job; these bound its work, not its time), the total time of one
 * run (an action's step timeout may cut it sooner), and the http calls and
 * sleeps one run may make (a Splunk job polled every 2 s for 10 minutes is
 * 300). */
#define RP_LUA_ACTION_INSTRUCTIONS_MAX 50000000
#define RP_LUA_ACTION_MEMORY_MAX       (64u * 1024u * 1024u)
#define RP_LUA_ACTION_TIME_DEFAULT_MS  300000
#define RP_LUA_ACTION_TIME_MAX_MS      3600000
#define RP_LUA_ACTION_CALLS_MAX        1000
#define RP_LUA_ACTION_SOURCE_MAX       (64u * 1024u)

/* --- lab (lab/) --- */

/* One request body sent to the lab. The vendor calls it simulates send small
 * JSON or form bodies (an id list, a query, a chat message); 1 MiB is far above
 * them and bounds what a hostile test can make the lab hold per connection. */
#define RP_LAB_BODY_MAX (1024u * 1024u)

/* A request path (decoded) and one of its segments. Vendor paths are under
 * 200 bytes; a Graph message id is about 150. Longer ones get a 414. */
#define RP_LAB_PATH_MAX 1024u
#define RP_LAB_SEG_MAX  256u

/* Objects a test may add while the lab runs, per kind (IOCs, indicators, MISP
 * attributes, global-list entries, machine actions, webhook messages). A test
 * adds a handful; 256 bounds memory, and further adds get the vendor's error. */
#define RP_LAB_ADDED_MAX 256

/* Search jobs kept (Splunk, Carbon Black process searches); the oldest is
 * forgotten first. A pack polls one job at a time. */
#define RP_LAB_JOBS_MAX 64

/* Requests kept in the request log, and the body bytes kept per request. Tests
 * read the log after a few hundred requests; the oldest entries go first. */
#define RP_LAB_LOG_MAX      4096
#define RP_LAB_LOG_BODY_MAX 4096u

/* Faults armed at once, and the longest "slow" delay: a test needs a few, and a
 * delay beyond a minute only outlasts the test's own timeouts. */
#define RP_LAB_FAULTS_MAX         64
#define RP_LAB_FAULT_DELAY_MAX_MS 60000

/* OAuth and session tokens alive at once: a test run takes tens; the oldest
 * are forgotten first (their holders get a 401 and fetch another). */
#define RP_LAB_TOKENS_MAX 1024

/* Connections at once (one thread each): the lab serves one test or one
 * rehearsal, not a crowd. */
#define RP_LAB_CONNECTIONS_MAX 64

/* Token lifetime by default, and the longest --token-ttl: short, so that
 * refresh-on-401 is exercised in a rehearsal of a few minutes. */
#define RP_LAB_TOKEN_TTL_S     300
#define RP_LAB_TOKEN_TTL_MAX_S 86400

/* Items one page of a list may hold (limit, rows, $top, page_size): vendors
 * cap pages at 100-10000; the lab's organisation is smaller than that. */
#define RP_LAB_PAGE_MAX 1000

/* --- guard rails (guard/) --- */

/* One policy file. A real policy is a few KB; lists of protected users and
 * servers reach thousands of names (tens of KB). 1 MiB leaves room and bounds
 * the node tree libyaml's events build. */
#define RP_POLICY_MAX_BYTES (1024u * 1024u)

/* YAML nodes in one policy file: 1 MiB of one-character flow items would
 * otherwise make half a million nodes. 131072 holds lists of 100000 names. */
#define RP_POLICY_NODES_MAX 131072

/* Nesting of a policy's YAML: the deepest place (a protected rule's list)
 * sits at depth 4; 16 refuses anything else before it costs stack. */
#define RP_POLICY_YAML_DEPTH_MAX 16

/* Rules in each list (protected, budgets, approvals). A policy has tens; every
 * decision walks the lists, so a thousand keeps a decision in microseconds. */
#define RP_GUARD_RULES_MAX 1000

/* Host globs and address ranges in the whole policy: they are matched one by
 * one against every target (exact names use a binary search), so this bounds
 * a decision's work at targets x patterns. */
#define RP_GUARD_PATTERNS_MAX 1024

/* Targets one action may name (hosts to isolate, addresses to block). A
 * block list of thousands of IOCs is real; past this the guard cannot check
 * them all in a loop turn and denies the action instead of guessing. */
#define RP_GUARD_TARGETS_MAX 10000

/* Depth to which an action's parameters are searched for targets: the depth
 * of any JSON the engine accepts, so that no nesting hides a target. */
#define RP_GUARD_PARAMS_DEPTH RP_JSON_MAX_DEPTH

/* Highest budget `max` and blast radius: a billion is "no limit" written out;
 * more is a typo. */
#define RP_GUARD_COUNT_MAX 1000000000

/* Longest window, timeout or containment a policy may write: a year, like a
 * playbook's durations (a longer one is a typo and nears int64 overflow when
 * added to now). */
#define RP_GUARD_DURATION_MAX_MS (366LL * 24 * 3600 * 1000)

/* A hold whose rule gives no timeout waits this long for its approver, then
 * follows on_timeout (deny unless told otherwise): a shift. */
#define RP_GUARD_HOLD_TIMEOUT_DEFAULT_MS (8LL * 3600 * 1000)

/* Holds made by the kill switch wait a day for an administrator (or the
 * policy's kill_switch.timeout) and are then denied: a stop is not undone by
 * the clock. */
#define RP_GUARD_KILL_TIMEOUT_MS (24LL * 3600 * 1000)

/* Longest approver role name (struct guard_decision's approver field). */
#define RP_GUARD_ROLE_MAX 63

/* Longest budget name: "budget NAME" fits the decision's rule field. */
#define RP_GUARD_NAME_MAX 100

/* --- KPIs (kpi/) --- */

/* Most cases one KPI period may hold: each costs about 80 bytes while the
 * percentiles are computed (80 MB at the limit). A longer period is refused
 * with a message to narrow it rather than answered from a sample, so that
 * every figure stays exact. */
#define RP_KPI_CASES_MAX 1000000

/* Most distinct labels per segment dimension (kind, source, playbook): more
 * are counted under "(other)", so that a source that names itself per host
 * cannot make the report (or the JSON) grow without bound. */
#define RP_KPI_SEGMENTS_MAX 200

/* Most playbooks one case counts under: a case worked by more is unusual;
 * the rest of its playbooks are left out of the per-playbook figures. */
#define RP_KPI_CASE_PLAYBOOKS_MAX 8

/* Most rows of one aggregate query (distinct actions, guard rules, prompts of
 * a period): beyond it the period is refused as too large, as for cases. */
#define RP_KPI_ROWS_MAX 200000

/* Longest period a report may cover: ten years; more is a typo. */
#define RP_KPI_PERIOD_MAX_MS (3660LL * 24 * 3600 * 1000)

/* Most points of the response-time chart (days, weeks or months): a chart
 * with more is unreadable on one page. */
#define RP_KPI_BUCKETS_MAX 60

/* A post-mortem's root cause, each lesson and each guard rail: a paragraph,
 * not a document (the document lives in the wiki it can link to). */
#define RP_POSTMORTEM_TEXT_MAX 4096

/* Lessons and guard rails of one post-mortem. */
#define RP_POSTMORTEM_ITEMS_MAX 32

/* Rows of the report's open high-severity cases table: one page. */
#define RP_KPI_OPEN_CASES_MAX 50

/* Most entries of kpi.minutes_saved in the configuration. */
#define RP_KPI_MINUTES_ENTRIES_MAX 1000

/* A rendered report: the HTML of the figures above is far below this. */
#define RP_KPI_REPORT_MAX (16u * 1024u * 1024u)

/* Metric series (a name and its labels) core/metrics.c keeps: label values
 * come from the configuration (connectors, channels, verdicts), a few dozen
 * in practice; more are counted in riposte_metrics_series_dropped_total. */
#define RP_METRICS_SERIES_MAX 1024

/* Buckets of one histogram (plus +Inf). */
#define RP_METRICS_BUCKETS_MAX 16

/* The /metrics page: RP_METRICS_SERIES_MAX series of a few hundred bytes. */
#define RP_METRICS_PAGE_MAX (4u * 1024u * 1024u)

/* --- detectors (detect/) --- */

/* Rules under detect.failed_logins: a handful per deployment (one per log
 * family and grouping); more is a generated file gone wrong. */
#define RP_DETECT_RULES_MAX 64

/* Highest threshold: a key keeps up to threshold+1 failure times, so this
 * bounds one key's memory (80 KiB); a burst of more than 10000 in one window
 * has long been noticed. */
#define RP_DETECT_THRESHOLD_MAX 10000

/* Longest window and suppression: a week. A sliding window longer than that
 * is a report, not a detector, and the kept times would grow with it. */
#define RP_DETECT_WINDOW_MAX_MS (7LL * 24 * 3600 * 1000)

/* Groups (users, devices, user+device pairs) tracked per rule. A password
 * spray or a scan of many accounts makes one key per account; past this the
 * least recently seen key is evicted (and counted), so memory stays flat
 * under any input at about keys x (key text + times). */
#define RP_DETECT_KEYS_MAX 10000

/* Failure times kept per rule across all its keys (8 bytes each: 4 MiB).
 * Past it the least recently seen keys are evicted until the new time fits. */
#define RP_DETECT_TIMES_MAX (512u * 1024)

/* Distinct source addresses (and users, hosts) remembered per key for the
 * raised alert; the rest are counted, not listed. */
#define RP_DETECT_ADDRS_MAX 16

/* Longest user or device name used as a key (bytes); longer values are cut
 * (still deterministic: the same long name makes the same key). */
#define RP_DETECT_KEY_MAX 512

#endif
