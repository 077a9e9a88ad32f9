/*
 * The shell's word splitter (cli/parse.c): quotes, backslashes, comments,
 * paths with spaces, and the quoting that Tab completion inserts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "unit.h"

/* 'line' splits into exactly the words after it (NULL-terminated). */
static void splits(const char *line, ...)
{
    const char *err = "unset", *want;
    char **argv = NULL;
    va_list ap;
    int n, i = 0;

    n = cli_split_words(line, &argv, &err);
    ck_assert_msg(n >= 0, "'%s': %s", line, err);
    ck_assert_ptr_null(err);
    va_start(ap, line);
    while ((want = va_arg(ap, const char *))) {
        ck_assert_msg(i < n, "'%s': %d words, expected more", line, n);
        ck_assert_msg(strcmp(argv[i], want) == 0,
                      "'%s': word %d is '%s', expected '%s'", line, i,
                      argv[i], want);
        i++;
    }
    va_end(ap);
    ck_assert_msg(i == n, "'%s': %d words, expected %d", line, n, i);
    ck_assert_ptr_null(argv[n]);
    cli_free_words(argv);
}

static void refused(const char *line, const char *want)
{
    const char *err = NULL;
    char *unchanged[1] = { NULL };
    char **argv = unchanged;

    ck_assert_int_eq(cli_split_words(line, &argv, &err), -1);
    ck_assert_ptr_null(argv);
    ck_assert_msg(err && strcmp(err, want) == 0, "'%s': '%s', expected '%s'",
                  line, err ? err : "(null)", want);
}

START_TEST(test_plain_words)
{
    splits("", NULL);
    splits("   \t ", NULL);
    splits("disks", "disks", NULL);
    splits("  copy\tvm1  vda  /new/path --wait ", "copy", "vm1", "vda",
           "/new/path", "--wait", NULL);
    splits("job vda --info\r\n", "job", "vda", "--info", NULL);
}
END_TEST

START_TEST(test_single_quotes)
{
    splits("copy vda '/var/lib/my images/a.qcow2'", "copy", "vda",
           "/var/lib/my images/a.qcow2", NULL);
    /* Nothing is special inside single quotes. */
    splits("'a\\b \"c\" #d $e'", "a\\b \"c\" #d $e", NULL);
    splits("''", "", NULL);
    splits("x '' y", "x", "", "y", NULL);
}
END_TEST

START_TEST(test_double_quotes)
{
    splits("\"/var/lib/my images/a.qcow2\"", "/var/lib/my images/a.qcow2",
           NULL);
    /* A backslash escapes only " \ $ ` and stays before anything else. */
    splits("\"say \\\"hi\\\" \\\\ \\$ \\` \\n\"", "say \"hi\" \\ $ ` \\n",
           NULL);
    splits("\"it's\"", "it's", NULL);
    splits("\"\"", "", NULL);
}
END_TEST

START_TEST(test_backslashes)
{
    splits("/var/lib/my\\ images/a.qcow2", "/var/lib/my images/a.qcow2",
           NULL);
    splits("\\'quoted\\' \\\"too\\\"", "'quoted'", "\"too\"", NULL);
    splits("a\\\\b", "a\\b", NULL);
    splits("\\#not-a-comment", "#not-a-comment", NULL);
}
END_TEST

START_TEST(test_one_word_from_pieces)
{
    splits("a'b c'\"d e\"f\\ g", "ab cd ef g", NULL);
    splits("--xml='/my dir/d.xml'", "--xml=/my dir/d.xml", NULL);
}
END_TEST

START_TEST(test_comments)
{
    splits("# a comment", NULL);
    splits("   # indented", NULL);
    splits("disks vm1 # the first VM", "disks", "vm1", NULL);
    /* Only at the start of a word. */
    splits("disks vm#1", "disks", "vm#1", NULL);
    splits("disks '#vm'", "disks", "#vm", NULL);
}
END_TEST

START_TEST(test_errors)
{
    refused("copy vda '/my images", "unterminated single quote");
    refused("copy vda \"/my images", "unterminated double quote");
    refused("copy vda \"/my images\\\"", "unterminated double quote");
    refused("copy vda /my\\", "backslash at the end of the line");
}
END_TEST

START_TEST(test_many_words)
{
    char line[4096] = "";
    char **argv = NULL;
    const char *err;
    int i;

    for (i = 0; i < 500; i++)
        strcat(line, "w ");
    ck_assert_int_eq(cli_split_words(line, &argv, &err), 500);
    ck_assert_str_eq(argv[499], "w");
    ck_assert_ptr_null(argv[500]);
    cli_free_words(argv);
}
END_TEST

/* What completion inserts comes back as the same word, whichever quote
 * the word was opened with. */
START_TEST(test_quote_word_round_trip)
{
    static const char *const words[] = {
        "plain", "/my images/a b.qcow2", "it's", "say \"hi\"", "back\\slash",
        "#hash", "tab\there", "$HOME", "`cmd`", "", "'\"\\",
    };
    static const char quotes[] = { 0, '\'', '"' };
    size_t i, q;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        for (q = 0; q < sizeof(quotes); q++) {
            char *quoted = cli_quote_word(words[i], quotes[q]), *line;
            char **argv = NULL;
            const char *err;
            int n;

            ck_assert_ptr_nonnull(quoted);
            ck_assert_int_ge(asprintf(&line, "x %s%s%s", quotes[q] ?
                                      (char[]){ quotes[q], 0 } : "", quoted,
                                      quotes[q] ? (char[]){ quotes[q], 0 }
                                                : ""), 0);
            n = cli_split_words(line, &argv, &err);
            if (words[i][0] == '\0' && !quotes[q]) {
                /* An empty word needs quotes: unquoted it is no word. */
                ck_assert_int_eq(n, 1);
            } else {
                ck_assert_msg(n == 2 && !strcmp(argv[1], words[i]),
                              "'%s' quoted as [%s] splits to %d words", words[i],
                              line, n);
            }
            cli_free_words(argv);
            free(line);
            free(quoted);
        }
    }
}
END_TEST

/* What reaches a terminal from a name or a QEMU message. */
START_TEST(test_escape_controls)
{
    static const struct { const char *in, *out; } cases[] = {
        { "vda", "vda" },
        { "", "" },
        { "vm\x1b]0;owned\x07", "vm\\x1b]0;owned\\x07" },
        { "a\nerror: fake", "a\\nerror: fake" },
        { "tab\there\r", "tab\\there\\r" },
        { "del\x7f", "del\\x7f" },
        /* C1 controls, CSI among them, as UTF-8 and as lone bytes. */
        { "x\xc2\x9b" "31m", "x\\xc2\\x9b31m" },
        { "x\x9b" "31m", "x\\x9b31m" },
        /* Printable UTF-8 passes; broken or overlong sequences do not. */
        { "gro\xc3\x9f \xe2\x82\xac \xf0\x9f\x92\xbe", "gro\xc3\x9f \xe2\x82\xac \xf0\x9f\x92\xbe" },
        { "\xc2\xa0nbsp", "\xc2\xa0nbsp" },
        { "\xc3(", "\\xc3(" },
        { "\xc0\xaf", "\\xc0\\xaf" },
        { "\xed\xa0\x80", "\\xed\\xa0\\x80" },
        { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
        { "end\xe2\x82", "end\\xe2\\x82" },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = cli_escape_dup(cases[i].in);

        ck_assert_str_eq(got, cases[i].out);
        ck_assert_str_eq(cli_safe(cases[i].in), cases[i].out);
        free(got);
    }
    ck_assert_ptr_null(cli_safe(NULL));
    cli_safe_release();
}
END_TEST

Suite *words_suite(void)
{
    Suite *s = suite_create("words");
    TCase *tc = tcase_create("split");

    tcase_add_test(tc, test_plain_words);
    tcase_add_test(tc, test_single_quotes);
    tcase_add_test(tc, test_double_quotes);
    tcase_add_test(tc, test_backslashes);
    tcase_add_test(tc, test_one_word_from_pieces);
    tcase_add_test(tc, test_comments);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_many_words);
    tcase_add_test(tc, test_quote_word_round_trip);
    tcase_add_test(tc, test_escape_controls);
    suite_add_tcase(s, tc);
    return s;
}
