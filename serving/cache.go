package serving

import (
	"sync"
	"time"
)

// lru is a map bounded by the total cost of its entries, which drops the
// least recently used first. An entry older than the TTL is stale: get
// still returns it, flagged, so that a caller can refresh it or, when the
// source is down, serve it as the last good copy. It is safe for concurrent
// use.
type lru[K comparable, V any] struct {
	mu      sync.Mutex
	items   map[K]*node[K, V]
	head    node[K, V] // sentinel: head.next is the most recently used
	cost    int64
	maxCost int64
	ttl     time.Duration
	now     func() time.Time
}

type node[K comparable, V any] struct {
	key        K
	value      V
	cost       int64
	stored     time.Time
	prev, next *node[K, V]
}

func newLRU[K comparable, V any](maxCost int64, ttl time.Duration, now func() time.Time) *lru[K, V] {
	c := &lru[K, V]{items: map[K]*node[K, V]{}, maxCost: maxCost, ttl: ttl, now: now}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

// get returns the value of k, whether it is younger than the TTL, and
// whether there is one.
func (c *lru[K, V]) get(k K) (v V, fresh, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.items[k]
	if n == nil {
		return v, false, false
	}
	c.unlink(n)
	c.pushFront(n)
	return n.value, c.now().Sub(n.stored) < c.ttl, true
}

// getMany calls fn with the value of each key present, whether it is
// fresh, taking the lock once.
func (c *lru[K, V]) getMany(keys []K, fn func(k K, v V, fresh bool)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, k := range keys {
		if n := c.items[k]; n != nil {
			c.unlink(n)
			c.pushFront(n)
			fn(k, n.value, now.Sub(n.stored) < c.ttl)
		}
	}
}

// put stores v under k with a cost, dropping the least recently used
// entries past the bound. An entry costlier than the bound is not kept.
func (c *lru[K, V]) put(k K, v V, cost int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.items[k]; n != nil {
		c.remove(n)
	}
	if cost > c.maxCost {
		return
	}
	n := &node[K, V]{key: k, value: v, cost: cost, stored: c.now()}
	c.items[k] = n
	c.pushFront(n)
	c.cost += cost
	for c.cost > c.maxCost {
		c.remove(c.head.prev)
	}
}

// remove deletes k.
func (c *lru[K, V]) delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.items[k]; n != nil {
		c.remove(n)
	}
}

// expire marks every entry stale, keeping them as last good copies.
func (c *lru[K, V]) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := c.head.next; n != &c.head; n = n.next {
		n.stored = time.Time{}
	}
}

// len returns the number of entries.
func (c *lru[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *lru[K, V]) remove(n *node[K, V]) {
	c.unlink(n)
	delete(c.items, n.key)
	c.cost -= n.cost
}

func (c *lru[K, V]) unlink(n *node[K, V]) {
	n.prev.next, n.next.prev = n.next, n.prev
}

func (c *lru[K, V]) pushFront(n *node[K, V]) {
	n.prev, n.next = &c.head, c.head.next
	c.head.next.prev = n
	c.head.next = n
}
