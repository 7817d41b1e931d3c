package redis

import goredis "github.com/redis/go-redis/v9"

// The scripts that change the registry. Every key they touch carries the
// {runs} hash tag, so each runs atomically on Redis Cluster too. Numbers
// pass as strings and come back as integers.

// newRunScript creates a run or finds the one to resume.
// KEYS: run, index, seq. ARGV: run ID, now (ms), buckets.
// Returns {0} for a complete run, {1, gen, buckets} for a new one and
// {2, gen, buckets} for one to resume.
var newRunScript = goredis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'state', 'gen', 'buckets')
if st[1] == 'complete' then return {0} end
if st[1] then return {2, tonumber(st[2]), tonumber(st[3])} end
local gen = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'writing', 'gen', gen, 'buckets', ARGV[3],
	'created', ARGV[2], 'published', ARGV[2], 'seq', gen, 'lists', 0)
redis.call('SADD', KEYS[2], ARGV[1])
return {1, gen, tonumber(ARGV[3])}
`)

// commitScript marks a run complete and makes it current.
// KEYS: run, current, seq, fence. ARGV: gen, now (ms), lists, run ID, and
// the fencing token of the committer or "" for none.
// Returns 0 when the run is gone or was started again, 1 when it is
// already complete, 3 when the token is not the newest one of the lock,
// and 2 on success.
var commitScript = goredis.NewScript(`
local st = redis.call('HMGET', KEYS[1], 'state', 'gen')
if not st[1] or st[2] ~= ARGV[1] then return 0 end
if st[1] == 'complete' then return 1 end
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[5] then return 3 end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'complete', 'published', ARGV[2], 'seq', seq, 'lists', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
return 2
`)

// activateScript makes a complete run current.
// KEYS: run, current. ARGV: run ID.
// Returns 0 for an unknown or incomplete run and 1 on success.
var activateScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'complete' then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
`)

// deleteScript removes a run from the registry and queues its data keys in
// the trash set.
// KEYS: run, current, index, trash. ARGV: run ID, "1" to delete only an
// incomplete run, and the generation to delete or "" for any.
// Returns {-1} for the current run, {0} when there is nothing to delete and
// {1, gen, buckets} on success.
var deleteScript = goredis.NewScript(`
if redis.call('GET', KEYS[2]) == ARGV[1] then return {-1} end
local st = redis.call('HMGET', KEYS[1], 'state', 'gen', 'buckets')
if not st[1] then
	redis.call('SREM', KEYS[3], ARGV[1])
	return {0}
end
if ARGV[2] == '1' and st[1] == 'complete' then return {0} end
if ARGV[3] ~= '' and st[2] ~= ARGV[3] then return {0} end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], st[2] .. ':' .. st[3])
return {1, tonumber(st[2]), tonumber(st[3])}
`)

// recordScript records one interaction in a user's history, newest event
// first, and keeps at most a number of entries.
// KEYS: history. ARGV: field ("r:<content>" or "w:<content>"), time (ms),
// value (rating, or "" for a watch), "1" for a deletion of a rating, TTL
// (ms), max entries.
// A field holds "<ms>:<value>". An event older than the stored one of the
// same field changes nothing.
var recordScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
	local oldms = tonumber(string.match(old, '^(%d+):'))
	if oldms and oldms > tonumber(ARGV[2]) then return 0 end
end
if ARGV[4] == '1' then
	redis.call('HDEL', KEYS[1], ARGV[1])
else
	redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local max = tonumber(ARGV[6])
if redis.call('HLEN', KEYS[1]) > max then
	local all = redis.call('HGETALL', KEYS[1])
	local entries = {}
	for i = 1, #all, 2 do
		entries[#entries + 1] = {all[i], tonumber(string.match(all[i + 1], '^(%d+):')) or 0}
	end
	table.sort(entries, function(a, b) return a[2] < b[2] end)
	for i = 1, #entries - max do
		redis.call('HDEL', KEYS[1], entries[i][1])
	end
end
return 1
`)

// The scripts of Lock. The lock key holds the holder's random token and
// expires unless renewed; the fence counter only grows.

// acquireScript takes the lock for a scheduled time.
// KEYS: lock, fence, tick. ARGV: holder token, TTL (ms), scheduled time
// (ms) or "" for none.
// Returns -2 when a run for that time or a later one was already started,
// -1 when the lock is held, and the new fencing token on success.
var acquireScript = goredis.NewScript(`
if ARGV[3] ~= '' then
	local last = tonumber(redis.call('GET', KEYS[3]))
	if last and tonumber(ARGV[3]) <= last then return -2 end
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
return redis.call('INCR', KEYS[2])
`)

// renewScript extends the lock while the caller holds it.
// KEYS: lock. ARGV: holder token, TTL (ms).
// Returns 1 when extended and 0 when the lock is no longer the caller's.
var renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// releaseScript deletes the lock while the caller holds it.
// KEYS: lock. ARGV: holder token.
// Returns 1 when deleted and 0 when the lock was no longer the caller's.
var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)
