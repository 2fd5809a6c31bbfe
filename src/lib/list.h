/* SPDX-License-Identifier: MIT */
/*
 * Intrusive circular doubly-linked lists, in the style of Linux's
 * list_head: a node embeds struct vmm_list, and an empty list is a head
 * whose next and prev point at itself.
 */
#ifndef VMM_LIB_LIST_H
#define VMM_LIB_LIST_H

#include <stdbool.h>

#include "lib/compiler.h"

struct vmm_list {
	struct vmm_list *next;
	struct vmm_list *prev;
};

static inline void vmm_list_init(struct vmm_list *head)
{
	head->next = head;
	head->prev = head;
}

static inline bool vmm_list_empty(const struct vmm_list *head)
{
	return head->next == head;
}

static inline void vmm_list_insert_between(struct vmm_list *n, struct vmm_list *prev,
					   struct vmm_list *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* Add @n right after @head (at the front). */
static inline void vmm_list_add(struct vmm_list *n, struct vmm_list *head)
{
	vmm_list_insert_between(n, head, head->next);
}

/* Add @n right before @head (at the back). */
static inline void vmm_list_add_tail(struct vmm_list *n, struct vmm_list *head)
{
	vmm_list_insert_between(n, head->prev, head);
}

/* Unlink @n and leave it pointing at itself, so a second delete is harmless. */
static inline void vmm_list_del(struct vmm_list *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
	n->next = n;
	n->prev = n;
}

static inline bool vmm_list_is_linked(const struct vmm_list *n)
{
	return n->next != NULL && n->next != n;
}

#define vmm_list_entry(ptr, type, member) container_of(ptr, type, member)
#define vmm_list_first_entry(head, type, member) vmm_list_entry((head)->next, type, member)
#define vmm_list_last_entry(head, type, member) vmm_list_entry((head)->prev, type, member)

#define vmm_list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#define vmm_list_for_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif /* VMM_LIB_LIST_H */
