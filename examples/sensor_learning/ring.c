#include "ring.h"

void ring_init(ring_t *r)
{
    r->head = 0;
    r->tail = 0;
    r->dropped = 0;
}

int ring_push(ring_t *r, sample_t s)
{
    const uint32_t head = r->head;
    if (head - r->tail == RING_CAPACITY) {
        r->dropped++;
        return 0;
    }
    r->buf[head & (RING_CAPACITY - 1u)] = s;
    r->head = head + 1u;
    return 1;
}

int ring_pop(ring_t *r, sample_t *s)
{
    const uint32_t tail = r->tail;
    if (r->head == tail) {
        return 0;
    }
    *s = r->buf[tail & (RING_CAPACITY - 1u)];
    r->tail = tail + 1u;
    return 1;
}

uint32_t ring_count(const ring_t *r)
{
    return r->head - r->tail;
}
