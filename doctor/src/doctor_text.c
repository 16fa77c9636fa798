/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The doctor's report for people, in the style of libvirt's virt-host-validate
 * (tools/virt-host-validate-common.c: "%6s: Checking %-60s: " then PASS, WARN
 * or FAIL), but kept within 80 columns: our prefix is a PCI address (12
 * columns), so the status line is "%12s: " + 60 columns of "Checking title"
 * + ": FAIL", and the reason, fix and evidence go on the lines under it,
 * indented and wrapped at a space.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vfiokit/doctor.h>

enum {
	WIDTH = 80,  /* the terminal's columns */
	PREFIX = 12, /* "0000:01:00.0", right-aligned */
	INDENT = PREFIX + 2,
	LABEL = WIDTH - INDENT - 6, /* ": FAIL" ends at column 80 */
};

static const char *prefix_of(const struct vk_doctor_check *c)
{
	const char *cat = vk_doctor_category(c->rule);

	if (c->subject)
		return c->subject;
	if (strcmp(cat, "limits") == 0)
		return "LIMITS";
	if (strcmp(cat, "qemu") == 0)
		return "QEMU";
	return "VFIO";
}

/*
 * @text after @lead at column @indent, wrapped at spaces so that no line
 * passes WIDTH (a word longer than a line, e.g. a path, stands alone on its
 * line); a '\n' in @text starts a new line.  Continuation lines are indented
 * under the text, past @lead.
 */
static void print_wrapped(FILE *f, int indent, const char *lead, const char *text)
{
	int col = indent + (int)strlen(lead), room = WIDTH - col;
	const char *p = text;

	fprintf(f, "%*s%s", indent, "", lead);
	while (*p) {
		size_t n = strcspn(p, "\n");
		int used = 0;
		while (n) {
			size_t w = strcspn(p, " \n");
			if (used && used + 1 + (int)w > room) {
				fprintf(f, "\n%*s", col, "");
				used = 0;
			} else if (used) {
				fputc(' ', f);
				used++;
			}
			fwrite(p, 1, w, f);
			used += (int)w;
			p += w;
			n -= w;
			while (n && *p == ' ') {
				p++;
				n--;
			}
		}
		if (*p == '\n') {
			p++;
			if (*p)
				fprintf(f, "\n%*s", col, "");
		}
	}
	fputc('\n', f);
}

/* "PREFIX: Checking title     : " with the title wrapped over two lines when it
 * is longer than its field. */
static void print_label(FILE *f, const struct vk_doctor_check *c)
{
	char label[512];
	int len = snprintf(label, sizeof(label), "Checking %s", c->rule->title);

	if (len > LABEL) {
		int cut = LABEL;
		while (cut > 0 && label[cut] != ' ')
			cut--;
		if (cut == 0)
			cut = LABEL;
		fprintf(f, "%*s: %.*s\n", PREFIX, prefix_of(c), cut, label);
		fprintf(f, "%*s%-*s: ", INDENT, "", LABEL, label + cut + (label[cut] == ' '));
	} else {
		fprintf(f, "%*s: %-*s: ", PREFIX, prefix_of(c), LABEL, label);
	}
}

int vk_doctor_print_with(const struct vk_doctor_report *rep, FILE *f, unsigned flags)
{
	static const char *const col[] = {"\033[32m", "\033[1;33m", "\033[1;31m", "\033[36m"};
	bool color = flags & VK_DOCTOR_PRINT_COLOR;
	const char *reset = color ? "\033[0m" : "";

	for (size_t i = 0; i < rep->n; i++) {
		const struct vk_doctor_check *c = &rep->checks[i];

		if ((flags & VK_DOCTOR_PRINT_PROBLEMS) && c->status == VK_DOCTOR_PASS)
			continue;
		print_label(f, c);
		fprintf(f, "%s%s%s\n", color ? col[c->status] : "", vk_doctor_status_name(c->status), reset);
		print_wrapped(f, INDENT, "", c->reason);
		if (c->fix)
			print_wrapped(f, INDENT, "fix: ", c->fix);
		if (flags & VK_DOCTOR_PRINT_EVIDENCE)
			for (size_t k = 0; k < c->n_evidence; k++)
				print_wrapped(f, INDENT, "evidence: ", c->evidence[k]);
	}
	if (fflush(f) != 0 || ferror(f))
		return -(errno ? errno : EIO);
	return 0;
}

int vk_doctor_print(const struct vk_doctor_report *rep, FILE *f, bool color)
{
	return vk_doctor_print_with(rep, f, color ? VK_DOCTOR_PRINT_COLOR : 0);
}
