// SPDX-License-Identifier: GPL-2.0-only
/*
 * pylttng-splice.c - splice(2) from a stream fd: the "splice" channel output.
 *
 * The consumer takes a sub-buffer (GET_NEXT_SUBBUF), splices it into a pipe
 * and from the pipe into its trace file, then releases it (PUT_NEXT_SUBBUF).
 * As with lttng-modules, *ppos is the offset inside the held sub-buffer, not
 * a file position, and one call moves at most the rest of that sub-buffer.
 *
 * The pipe gets references to the buffer's own pages, no copy.  That is
 * safe because a consumer empties the pipe into the file (which copies)
 * before it releases the sub-buffer to the writers; and a page still in a
 * pipe when the buffer is freed stays alive through its reference.
 */
#include <linux/mm.h>
#include <linux/pipe_fs_i.h>
#include <linux/slab.h>
#include <linux/splice.h>
#include <linux/vmalloc.h>

#include "pylttng-compat.h"
#include "pylttng.h"

static void pyl_pipe_buf_release(struct pipe_inode_info *pipe,
				 struct pipe_buffer *buf)
{
	put_page(buf->page);
}

static const struct pipe_buf_operations pyl_pipe_buf_ops = {
	.release = pyl_pipe_buf_release,
	.get = generic_pipe_buf_get,
};

/* Pages splice_to_pipe() could not place go back here. */
static void pyl_spd_release(struct splice_pipe_desc *spd, unsigned int i)
{
	put_page(spd->pages[i]);
}

/*
 * How many pages one call hands over: the rest of the sub-buffer, as far
 * as the pipe has room (a consumer that grew its pipe to a sub-buffer moves
 * it in one call instead of one call per 16 pages).  The pipe is locked.
 */
static unsigned int pyl_splice_pages(const struct pipe_inode_info *pipe,
				     unsigned long addr, size_t len)
{
	unsigned int room = pyl_pipe_room(pipe);
	size_t need = DIV_ROUND_UP(offset_in_page(addr) + len, PAGE_SIZE);

	return clamp_t(size_t, need, 1, max_t(unsigned int, room, 1));
}

/* Caller holds the buffer's read lock. */
ssize_t pyl_rb_splice_read(struct pyl_rb *rb, loff_t *ppos,
			   struct pipe_inode_info *pipe, size_t len)
{
	struct page *stack_pages[PIPE_DEF_BUFFERS];
	struct partial_page stack_partial[PIPE_DEF_BUFFERS];
	struct splice_pipe_desc spd = {
		.pages = stack_pages,
		.partial = stack_partial,
		.nr_pages_max = PIPE_DEF_BUFFERS,
		.ops = &pyl_pipe_buf_ops,
		.spd_release = pyl_spd_release,
	};
	unsigned long off, size = pyl_rb_subbuf_size(rb);
	char *addr = pyl_rb_held_addr(rb);
	unsigned int nr;
	ssize_t moved;

	if (!addr)
		return -EINVAL;		/* no GET_SUBBUF before */
	if (*ppos < 0 || *ppos >= size)
		return 0;
	off = *ppos;
	len = min_t(size_t, len, size - off);
	addr += off;
	nr = pyl_splice_pages(pipe, (unsigned long)addr, len);
	if (nr > PIPE_DEF_BUFFERS) {
		spd.pages = kmalloc_array(nr, sizeof(*spd.pages), GFP_KERNEL);
		spd.partial = kmalloc_array(nr, sizeof(*spd.partial), GFP_KERNEL);
		if (!spd.pages || !spd.partial) {
			kfree(spd.pages);
			kfree(spd.partial);
			return -ENOMEM;
		}
		spd.nr_pages_max = nr;
	}

	while (len && spd.nr_pages < spd.nr_pages_max) {
		unsigned int poff = offset_in_page(addr);
		unsigned int chunk = min_t(size_t, len, PAGE_SIZE - poff);
		struct page *page = vmalloc_to_page(addr);

		get_page(page);
		spd.pages[spd.nr_pages] = page;
		spd.partial[spd.nr_pages].offset = poff;
		spd.partial[spd.nr_pages].len = chunk;
		spd.nr_pages++;
		addr += chunk;
		len -= chunk;
	}
	moved = spd.nr_pages ? splice_to_pipe(pipe, &spd) : 0;
	if (moved > 0)
		*ppos += moved;
	if (spd.pages != stack_pages) {
		kfree(spd.pages);
		kfree(spd.partial);
	}
	return moved;
}
