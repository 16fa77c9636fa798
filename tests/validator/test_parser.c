/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <vfiokit/qemu_cmdline.h>

int vk__qc_optdefs_sorted(void);

static struct vk_qc_cmdline *parse(const char *const *argv, size_t n)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};
	int r = vk_qc_parse_argv(n, (char *const *)argv, NULL, VK_QC_ARGV_DETECT_PROGRAM, &c, NULL, &e);
	cr_assert_eq(r, 0, "parse failed: %s", e.msg);
	return c;
}

Test(options, table_sorted_and_arity)
{
	cr_assert_eq(vk__qc_optdefs_sorted(), 0, "the option table must stay sorted (bsearch)");
	cr_assert(vk_qc_option_lookup("device")->has_arg);
	cr_assert(vk_qc_option_lookup("add-fd")->has_arg);
	cr_assert(!vk_qc_option_lookup("S")->has_arg);
	cr_assert(!vk_qc_option_lookup("nodefaults")->has_arg);
	cr_assert(!vk_qc_option_lookup("no-shutdown")->has_arg);
	cr_assert(vk_qc_option_lookup("sandbox")->has_arg);
	cr_assert_null(vk_qc_option_lookup("bogus"));
}

Test(keyval, escaping_implied_and_flags)
{
	struct vk_qc_prop *p;
	size_t n, col;
	struct vk_error e = {0};

	cr_assert_eq(vk_qc_parse_props("vfio-pci,host=0000:06:00.0,romfile=/a,,b,,,x-no-mmap", VK_QC_SYN_OPTS, "driver", &p, &n,
	                               &col, &e),
	             0, "%s", e.msg);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(p[0].key, "driver");
	cr_assert_str_eq(p[0].value, "vfio-pci");
	cr_assert(p[0].implied);
	cr_assert_str_eq(p[1].value, "0000:06:00.0");
	cr_assert_eq(p[1].col, 10);
	cr_assert_str_eq(p[2].key, "romfile");
	cr_assert_str_eq(p[2].value, "/a,b,");
	cr_assert_str_eq(p[3].key, "x-no-mmap");
	cr_assert_str_eq(p[3].value, "on");
	cr_assert(p[3].flag);
	vk_qc_props_free(p, n);

	/* An implied value may contain ",,". */
	cr_assert_eq(vk_qc_parse_props("a,,b,id=x", VK_QC_SYN_OPTS, "driver", &p, &n, &col, &e), 0);
	cr_assert_str_eq(p[0].value, "a,b");
	vk_qc_props_free(p, n);

	/* keyval (-object): an element without '=' after the first is an error, with its column. */
	cr_assert_eq(vk_qc_parse_props("iommufd,id=x,bogus", VK_QC_SYN_KEYVAL, "qom-type", &p, &n, &col, &e), -EINVAL);
	cr_assert_eq(col, 14);
	cr_assert(strstr(e.msg, "bogus"));
	cr_assert_eq(vk_qc_parse_props("vfio-pci,=3", VK_QC_SYN_OPTS, "driver", &p, &n, &col, &e), -EINVAL);
	cr_assert_eq(col, 10);
	cr_assert_eq(vk_qc_parse_props("vfio-pci,host=1,", VK_QC_SYN_OPTS, "driver", &p, &n, &col, &e), -EINVAL);
	cr_assert_eq(col, 16);
	/* A key is not escaped: "a,,b" is the flag a, then an empty element. */
	cr_assert_eq(vk_qc_parse_props("a,,b", VK_QC_SYN_OPTS, NULL, &p, &n, &col, &e), -EINVAL);
	cr_assert_eq(col, 3);
}

Test(json, types_nested_and_errors)
{
	struct vk_qc_prop *p;
	size_t n, col = 0;
	struct vk_error e = {0};

	cr_assert_eq(vk_qc_parse_json_props("{\"driver\":\"vfio-pci\",\"fd\":22,\"x\":true,\"n\":null,\"o\":{\"a\":[1]},\"r\":1.5}",
	                                    &p, &n, &col, &e),
	             0, "%s", e.msg);
	cr_assert_eq(n, 6);
	cr_assert_eq(p[0].kind, VK_QC_V_STRING);
	cr_assert_eq(p[1].kind, VK_QC_V_NUMBER);
	cr_assert_str_eq(p[1].value, "22");
	cr_assert_eq(p[2].kind, VK_QC_V_BOOL);
	cr_assert_eq(p[3].kind, VK_QC_V_NULL);
	cr_assert_eq(p[4].kind, VK_QC_V_COMPOUND);
	cr_assert_str_eq(p[4].value, "{\"a\":[1]}");
	cr_assert_eq(p[5].kind, VK_QC_V_NUMBER);
	vk_qc_props_free(p, n);

	cr_assert_eq(vk_qc_parse_json_props("{\"driver\":\"vfio-pci\",}", &p, &n, &col, &e), -EINVAL);
	cr_assert_gt(col, 20);
	cr_assert(strstr(e.msg, "column"));
	cr_assert_eq(vk_qc_parse_json_props("[1]", &p, &n, &col, &e), -EINVAL);
	cr_assert_eq(vk_qc_parse_json_props("{\"a\":1,\"a\":2}", &p, &n, &col, &e), -EINVAL, "duplicate keys");
	cr_assert_eq(vk_qc_parse_json_props("{\"a\":1} x", &p, &n, &col, &e), -EINVAL, "trailing junk");
}

Test(argv, options_values_and_images)
{
	const char *argv[] = {"qemu-system-x86_64", "-S", "--nodefaults", "-device",
	                      "vfio-pci,host=06:00.0,id=h0", "-object", "{\"qom-type\":\"iommufd\",\"id\":\"i0\"}",
	                      "-netdev", "tap,id=n0,fd=3", "-blockdev", "{\"driver\":\"file\",\"filename\":\"/x\",\"node-name\":\"b\"}",
	                      "disk.img", "-add-fd", "fd=4,set=2", "-chardev", "socket,id=c,path=/x"};
	struct vk_qc_cmdline *c = parse(argv, sizeof(argv) / sizeof(argv[0]));

	cr_assert(c->has_program);
	cr_assert_eq(c->nopts, 9);
	cr_assert_str_eq(c->opts[0].name, "S");
	cr_assert_null(c->opts[0].arg);
	cr_assert_str_eq(c->opts[1].name, "nodefaults", "--opt is -opt");
	cr_assert_not_null(c->opts[1].def);
	cr_assert_str_eq(vk_qc_option_type(&c->opts[2]), "vfio-pci");
	cr_assert_str_eq(vk_qc_option_get(&c->opts[2], "host"), "06:00.0");
	cr_assert_eq(c->opts[2].argi, 3);
	cr_assert(c->opts[3].json);
	cr_assert_str_eq(vk_qc_option_type(&c->opts[3]), "iommufd");
	cr_assert_str_eq(vk_qc_option_type(&c->opts[4]), "tap");
	cr_assert_str_eq(vk_qc_option_type(&c->opts[5]), "file");
	cr_assert(c->opts[6].is_image);
	cr_assert_str_eq(c->opts[6].arg, "disk.img");
	cr_assert_str_eq(vk_qc_option_get(&c->opts[7], "set"), "2");
	cr_assert_str_eq(vk_qc_option_type(&c->opts[8]), "socket");
	vk_qc_cmdline_free(c);
}

Test(argv, malformed_positions)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error e = {0};
	const char *a1[] = {"qemu", "-S", "-device"};
	const char *a2[] = {"qemu", "-S", "-device", "{\"driver\":\"vfio-pci\",\"host\":}"};
	const char *a3[] = {"-object", "iommufd,id=i,,x,oops"};

	cr_assert_eq(vk_qc_parse_argv(3, (char *const *)a1, NULL, VK_QC_ARGV_HAS_PROGRAM, &c, &pos, &e), -EINVAL);
	cr_assert_null(c);
	cr_assert_eq(pos.argi, 2);
	cr_assert(strstr(e.msg, "requires an argument"), "%s", e.msg);

	cr_assert_eq(vk_qc_parse_argv(4, (char *const *)a2, NULL, VK_QC_ARGV_HAS_PROGRAM, &c, &pos, &e), -EINVAL);
	cr_assert_eq(pos.argi, 3);
	cr_assert_eq(pos.col, 29, "col %zu: %s", pos.col, e.msg);

	/* no program: argv[0] is an option */
	cr_assert_eq(vk_qc_parse_argv(2, (char *const *)a3, NULL, VK_QC_ARGV_DETECT_PROGRAM, &c, &pos, &e), -EINVAL);
	cr_assert_eq(pos.argi, 1);
	cr_assert_eq(pos.col, 17, "col %zu: %s", pos.col, e.msg);
}

Test(args_text, env_continuations_quotes)
{
	const char *text = "LC_ALL=C \\\nPATH=/bin \\\n/usr/bin/qemu-system-x86_64 \\\n-name guest=a,debug-threads=on \\\n"
			   "-device '{\"driver\":\"vfio-pci\",\"host\":\"0000:06:00.0\",\"id\":\"hostdev0\"}' \\\n"
			   "-object \"iommufd,id=i\\\"0\" -append 'it'\\''s' -msg timestamp=on # comment\n";
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error e = {0};

	cr_assert_eq(vk_qc_parse_args_text(text, strlen(text), &c, &pos, &e), 0, "%s", e.msg);
	cr_assert_eq(c->nenv, 2);
	cr_assert_str_eq(c->env[1], "PATH=/bin");
	cr_assert_str_eq(c->argv[0], "/usr/bin/qemu-system-x86_64");
	cr_assert_eq(c->lines[0], 3);
	cr_assert_eq(c->nopts, 5);
	cr_assert_eq(c->opts[1].line, 5);
	cr_assert_str_eq(vk_qc_option_get(&c->opts[1], "host"), "0000:06:00.0");
	cr_assert_str_eq(vk_qc_option_get(&c->opts[2], "id"), "i\"0");
	cr_assert_str_eq(c->opts[3].arg, "it's");
	cr_assert_eq(c->opts[4].line, 6);
	vk_qc_cmdline_free(c);
}

Test(args_text, malformed_with_line_and_column)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_qc_pos pos;
	struct vk_error e = {0};
	const char *t1 = "/usr/bin/qemu \\\n-name 'oops \\\n-S\n";
	const char *t2 = "A=b \\\n/usr/bin/qemu \\\n-S \\\n-device 'vfio-pci,=x' \\\n-S\n";
	const char *t3 = "A=b \\\nB=c\n";
	const char *t4 = "/usr/bin/qemu -S \\";

	cr_assert_eq(vk_qc_parse_args_text(t1, strlen(t1), &c, &pos, &e), -EINVAL);
	cr_assert_eq(pos.line, 2);
	cr_assert_eq(pos.col, 7);
	cr_assert(strstr(e.msg, "unterminated single quote"), "%s", e.msg);

	cr_assert_eq(vk_qc_parse_args_text(t2, strlen(t2), &c, &pos, &e), -EINVAL);
	cr_assert_eq(pos.line, 4);
	cr_assert_eq(pos.argi, 3);
	cr_assert_eq(pos.col, 10);
	cr_assert(strstr(e.msg, "line 4"), "%s", e.msg);

	cr_assert_eq(vk_qc_parse_args_text(t3, strlen(t3), &c, &pos, &e), -EINVAL);
	cr_assert(strstr(e.msg, "no program"), "%s", e.msg);
	cr_assert_eq(vk_qc_parse_args_text(t4, strlen(t4), &c, &pos, &e), -EINVAL);
	cr_assert(strstr(e.msg, "backslash at end"), "%s", e.msg);
	cr_assert_eq(vk_qc_parse_args_text("a\0b", 3, &c, &pos, &e), -EINVAL);
}

Test(pid, self_cmdline)
{
	struct vk_qc_cmdline *c = NULL;
	struct vk_error e = {0};

	cr_assert_eq(vk_qc_parse_pid(NULL, getpid(), &c, NULL, &e), 0, "%s", e.msg);
	cr_assert(c->has_program);
	cr_assert_gt(c->argc, 0);
	vk_qc_cmdline_free(c);
	cr_assert_eq(vk_qc_parse_pid(NULL, 0x7ffffff0, &c, NULL, &e), -ESRCH);
	cr_assert_eq(vk_qc_parse_args_file("/nonexistent/x.args", &c, NULL, &e), -ENOENT);
}

/* The distinct -device types, in order, capped: what vfio-validate --qemu asks
 * the binary about (one run each, once). */
Test(cmdline, device_types_distinct_in_order)
{
	const char *argv[] = {"-device", "vfio-pci,host=01:00.0", "-object", "iommufd,id=fd0",
	                      "-device", "pcie-root-port,id=rp1", "-device", "vfio-pci,host=01:00.1",
	                      "-device", "{\"driver\":\"virtio-iommu-pci\"}"};
	struct vk_qc_cmdline *c = parse(argv, sizeof(argv) / sizeof(argv[0]));
	const char *names[4];

	cr_assert_eq(vk_qc_device_types(c, names, 4), 3);
	cr_assert_str_eq(names[0], "vfio-pci");
	cr_assert_str_eq(names[1], "pcie-root-port");
	cr_assert_str_eq(names[2], "virtio-iommu-pci");
	cr_assert_eq(vk_qc_device_types(c, names, 1), 1, "capped at max");
	vk_qc_cmdline_free(c);
}
