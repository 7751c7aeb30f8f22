#!/usr/bin/env bash
# Counts the assertions of the integration tests that match text init writes
# on stderr (its log lines and its error messages), against all assertions,
# so that "fewer log-text assertions" is measured the same way every time.
#
#   scripts/log-assertions.sh        the counts
#   scripts/log-assertions.sh -v     also each assertion on stderr text, one
#                                    a line: file:line, kind, its code
#
# Which files: tests/*.rs and tests/common/*.rs, the tests `cargo test
# --all-targets` runs. Not tests/images/: those run third-party images
# (nginx, PostgreSQL, ...) in `make test-images` only (Cargo.toml keeps them
# out of --all-targets), and what they read in a container's logs is mostly
# the application's own lines, which a test there has no other way to see.
#
# What an assertion is: an assert!, assert_eq! or assert_ne!, or a call of a
# helper that fails the test when its condition does not come true in time
# (wait_until, wait_for_file, wait_for_log, wait_for_output, within) or in
# order (assert_in_order). Each counts once where it is written: a helper's
# own assertions count once, however often it is called.
#
# What "on stderr text" means: the checked part of the assertion (not its
# failure message) reads
#   - init's stderr: Init::stderr(), stderr_of(..), an Output's .stderr, the
#     test dir's "stderr" file, Init::wait_for_log; services' own stderr
#     goes there too, and counts as well (the script cannot tell them apart);
#   - or a stream that carries init's stderr among the child's own output: a
#     terminal (OnTty's output, wait_for_output) or a container's logs
#     (Container::logs, Container::wait_for_log). There it counts only when
#     the text looked for is init's: it starts with "init: ", has a key=
#     field of init's log lines (a field name of a tracing macro in src/), or
#     holds a string of src/ at least 8 characters long;
#   - or a value made from one of these: a `let` whose right side reads one,
#     a helper function whose result does, and the names err, stderr, log,
#     logs and said that these tests give stderr text.
#
# Each assertion on stderr text is of one of two kinds:
#   error: it belongs to an exit of init's own making, for which
#     docs/reference.md ("Exit codes") promises one line naming the culprit:
#     that line is the behaviour under test. Found as: the assertion on an
#     exit code that belongs to it expects 1, 2, 64, 67, 70, 71, 75, 77, 78,
#     126 or 127. The one that belongs to it: in the same function, itself,
#     else the nearest one about the same process (the same variable: o,
#     out, init, or names bound by the same `let`), before it, else after;
#     else the nearest one before it, else after it.
#   log: every other one (the log lines of a running init, of a run that
#     succeeded or that a signal stopped).
set -euo pipefail

cd "$(dirname "$0")/.."
perl - "${1:-}" <<'PERL'
use strict;
use warnings;

my $verbose = ($ARGV[0] // "") eq "-v";
# The exit codes of init's own errors (docs/reference.md, "Exit codes").
my %OWN = map { $_ => 1 } (1, 2, 64, 67, 70, 71, 75, 77, 78, 126, 127);
# The names these tests give stderr text.
my @NAMES = qw(err stderr log logs said);
my $SITE = qr/\b(assert|assert_eq|assert_ne)!\s*\(|(?<![\w:])(?<!fn )(wait_until|wait_for_file|wait_for_log|wait_for_output|within|assert_in_order)\s*\(/;

# What init's log lines are made of, from src/: the field names of its
# tracing macros, and every piece of a string literal (split at its {}
# placeholders) at least 8 characters long.
my (%keys, %pieces);
for my $file (split /\n/, `find src -name '*.rs'`) {
    my ($code, $mask) = blank(slurp($file));
    while ($mask =~ /\b(?:trace|debug|info|warn|error)!\s*\(/g) {
        my $open = $+[0] - 1;
        my $m = substr($mask, $open, match_paren($mask, $open) - $open);
        $keys{$1} = 1 while $m =~ /\b([a-z_][a-z0-9_]*)\s*=(?!=)/g;
    }
    for my $lit (literals($code)) {
        for my $p (split /\{[^}]*\}/, $lit) {
            $p =~ s/^\s+|\s+$//g;
            $pieces{$p} = 1 if length($p) >= 8 && $p =~ /[a-z]/i;
        }
    }
}
my $KEY = do { my $k = join "|", sort keys %keys; qr/(?:^|[\s"])(?:$k)=/ };

my ($all, $text, $errors) = (0, 0, 0);
my @listed;
for my $file (sort(glob("tests/*.rs"), glob("tests/common/*.rs"))) {
    my $src = slurp($file);
    my ($code, $mask) = blank($src);
    # A container's wait_for_log reads its logs, not init's stderr.
    my $podman = $src =~ /\bcommon::podman\b/ || $file eq "tests/common/podman.rs";
    my @fns = functions($mask);
    my %helpers;    # name => 1 (init's stderr) or 2 (a shared stream)
    for (1 .. 4) {
        for my $f (@fns) {
            $f->{names} = names($code, $mask, $f, \%helpers, $podman);
            next if $f->{ret} eq "" || $f->{ret} =~ /^\(/;
            my $t = tail($mask, $f) // next;
            my $r = reads($t, tail($code, $f), $f->{names}, \%helpers, $podman);
            $helpers{ $f->{name} } = $r->{mixed} ? 2 : 1 if $r->{reads};
        }
    }
    my @sites;
    while ($mask =~ /$SITE/g) {
        my ($kind, $at, $open) = ($1 // $2, $-[0], $+[0] - 1);
        my $close = match_paren($mask, $open);
        my @a = split_args($mask, $open + 1, $close);
        my @checked = $kind eq "assert" ? ($a[0]) : $kind =~ /^assert_(eq|ne)$/ ? @a[0, 1]
            : $kind =~ /^(wait_until|within)$/ ? ($a[2]) : @a;
        my $f = innermost(\@fns, $at);
        my $names = $f ? $f->{names} : {};
        my $cm = join ",", map { defined $_ ? substr($mask, $_->[0], $_->[1] - $_->[0]) : "" } @checked;
        my $cc = join ",", map { defined $_ ? substr($code, $_->[0], $_->[1] - $_->[0]) : "" } @checked;
        my $r = reads($cm, $cc, $names, \%helpers, $podman);
        if ($kind eq "wait_for_log" || $kind eq "wait_for_output") {
            my $recv = substr($mask, 0, $at) =~ /(\w+)\s*\.\s*$/ ? $1 : "";
            my $mixed = $kind eq "wait_for_output" || $podman;
            $r = { reads => 1, mixed => $mixed, ev => [literals($cc)], subj => { $recv => 1 } };
        }
        my $is_text = $r->{reads} && (!$r->{mixed} || grep { init_text($_) } @{ $r->{ev} });
        push @sites, { kind => $kind, at => $at, close => $close, fn => $f, text => $is_text,
            subj => $r->{subj}, exit => exit_code($kind, $mask, \@a, $names) };
    }
    for my $i (0 .. $#sites) {
        my $s = $sites[$i];
        $all++;
        next if !$s->{text};
        $text++;
        my $exit = belonging_exit(\@sites, $i);
        my $kind = defined $exit && $OWN{$exit} ? "error" : "log";
        $errors++ if $kind eq "error";
        next if !$verbose;
        my $line = 1 + (() = substr($src, 0, $s->{at}) =~ /\n/g);
        (my $shown = substr($code, $s->{at}, $s->{close} + 1 - $s->{at})) =~ s/\s+/ /g;
        push @listed, sprintf "%s:%d\t%s\t%s", $file, $line, $kind, substr($shown, 0, 150);
    }
}
print "$_\n" for @listed;
print "assertions in tests/*.rs and tests/common/*.rs: $all\n";
printf "on init's stderr text: %d (log lines: %d, error messages: %d)\n", $text, $text - $errors, $errors;

sub slurp {
    open(my $fh, "<", $_[0]) or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

# The source with comments blanked ($code) and, besides, the insides of
# string and char literals blanked ($mask); both keep every offset.
sub blank {
    my ($s) = @_;
    my ($code, $mask, $n, $i) = ($s, $s, length $s, 0);
    my $put = sub {
        my ($from, $to, $also_code) = @_;
        for my $k ($from .. $to - 1) {
            my $b = substr($s, $k, 1) eq "\n" ? "\n" : " ";
            substr($mask, $k, 1) = $b;
            substr($code, $k, 1) = $b if $also_code;
        }
    };
    while ($i < $n) {
        my $two = substr($s, $i, 2);
        if ($two eq "//" || $two eq "/*") {
            my $e = $two eq "//" ? index($s, "\n", $i) : index($s, "*/", $i) + 2;
            $e = $n if $e < 2;
            $put->($i, $e, 1);
            $i = $e;
        } elsif (substr($s, $i, 12) =~ /^(b?r(#*)")/ && ($i == 0 || substr($s, $i - 1, 1) !~ /\w/)) {
            my ($open, $close) = ($1, "\"$2");
            my $e = index($s, $close, $i + length $open);
            $e = $n if $e < 0;
            $put->($i + length $open, $e, 0);
            $i = $e + length $close;
        } elsif ($two =~ /^(b?)"/) {
            my $k = $i + 1 + length $1;
            $k += substr($s, $k, 1) eq "\\" ? 2 : 1 while $k < $n && substr($s, $k, 1) ne "\"";
            $put->($i + 1 + length $1, $k, 0);
            $i = $k + 1;
        } elsif (substr($s, $i, 12) =~ /^'(\\(?:u\{[0-9a-fA-F]+\}|x..|.)|[^\\'])'/s) {
            $put->($i + 1, $i + 1 + length $1, 0);
            $i += 2 + length $1;
        } else {
            $i++;
        }
    }
    return ($code, $mask);
}

# The string literals in a piece of code, as written (escapes left as they are).
sub literals {
    my ($c) = @_;
    my @l;
    while ($c =~ /(?<!\w)(?:b?r(#*)"(.*?)"\1|b?"((?:[^"\\]|\\.)*)")/gs) {
        push @l, $2 // $3;
    }
    return @l;
}

# Text that is init's: a line start, a field of its log lines, or a piece of src/.
sub init_text {
    my ($t) = @_;
    return 1 if $t =~ /^init: / || $t =~ $KEY;
    for my $p (keys %pieces) {
        return 1 if index($t, $p) >= 0;
    }
    return 0;
}

# The offset of the bracket closing the one at $open.
sub match_paren {
    my ($m, $open) = @_;
    my $depth = 0;
    for my $k ($open .. length($m) - 1) {
        my $c = substr($m, $k, 1);
        $depth++ if $c =~ /[([{]/;
        $depth-- if $c =~ /[)\]}]/;
        return $k if $depth == 0;
    }
    return length($m) - 1;
}

# The top-level arguments between $from and $to, as [start, end] offsets.
sub split_args {
    my ($m, $from, $to) = @_;
    my ($depth, $start, @args) = (0, $from);
    for my $k ($from .. $to - 1) {
        my $c = substr($m, $k, 1);
        $depth++ if $c =~ /[([{]/;
        $depth-- if $c =~ /[)\]}]/;
        # Generic arguments (Vec<&str>, ::<T, U>) hold commas too.
        $depth++ if $c eq "<" && substr($m, $k - 1, 2) =~ /^[\w:]<[\w&'(]/;
        $depth-- if $c eq ">" && $depth > 0 && substr($m, $k - 1, 1) =~ /[\w>)]/;
        if ($c eq "," && $depth == 0) {
            push @args, [$start, $k];
            $start = $k + 1;
        }
    }
    push @args, [$start, $to] if substr($m, $start, $to - $start) =~ /\S/;
    return @args;
}

# Every fn: its name, return type and body (the offsets of its braces).
sub functions {
    my ($m) = @_;
    my @fns;
    while ($m =~ /\bfn\s+(\w+)/g) {
        my ($name, $end) = ($1, $+[0]);
        my $open = index($m, "{", $end);
        next if $open < 0 || substr($m, $end, $open - $end) =~ /;/;
        my ($ret) = substr($m, $end, $open - $end) =~ /->\s*(.*?)\s*(?:where\b.*)?$/s;
        push @fns, { name => $name, from => $open, to => match_paren($m, $open), ret => $ret // "" };
    }
    return @fns;
}

sub innermost {
    my ($fns, $at) = @_;
    my $best;
    for my $f (@$fns) {
        next if $at < $f->{from} || $at > $f->{to};
        $best = $f if !$best || $f->{to} - $f->{from} < $best->{to} - $best->{from};
    }
    return $best;
}

# The tail expression of a body (what it returns), if it has one.
sub tail {
    my ($m, $f) = @_;
    my $body = substr($m, $f->{from} + 1, $f->{to} - $f->{from} - 1);
    my ($depth, $last) = (0, -1);
    for my $k (0 .. length($body) - 1) {
        my $c = substr($body, $k, 1);
        $depth++ if $c =~ /[([{]/;
        $depth-- if $c =~ /[)\]}]/;
        $last = $k if $depth == 0 && ($c eq ";" || $c eq "}");
    }
    my $t = substr($body, $last + 1);
    return $t =~ /\S/ ? $t : undef;
}

# Whether code ($m masked, $c as written) reads stderr text: {reads, mixed
# (only through a shared stream), ev (the strings it looks for), subj (the
# processes whose stderr it reads)}.
sub reads {
    my ($m, $c, $names, $helpers, $podman) = @_;
    # Text only built into a message, or only checked inside (a closure's
    # own assertions), is no value made from stderr.
    $m =~ s/\b(?:format|panic|assert\w*|e?println)!\s*\(([^()]|\((?1)*\))*\)/ /g;
    my (%subj, $own, $mixed);
    $own = 1, $subj{$1 // ""} = 1 while $m =~ /(?:(\w+)\s*\.\s*)?stderr\s*\(\s*\)/g;
    $own = 1, $subj{$1} = 1 while $m =~ /\bstderr_of\s*\(\s*&?\s*(?:mut\s+)?(\w+)/g;
    $own = 1, $subj{$1} = 1 while $m =~ /(\w+)\s*\.\s*stderr\b(?!\s*\()/g;
    $own = 1 if $c =~ /join\(\s*"stderr"\s*\)/;
    $mixed = 1, $subj{$1} = 1 while $m =~ /(\w+)\s*\.\s*logs\s*\(\s*\)/g;
    $mixed = 1, $subj{tty} = 1 while $m =~ /\btty\s*\.\s*output\s*\(\s*\)/g;
    for my $h (keys %$helpers) {
        next if $m !~ /(?<![\w.])\Q$h\E\s*\(/;
        $helpers->{$h} == 2 ? ($mixed = 1) : ($own = 1);
    }
    my @ev = literals($c);
    for my $n (keys %$names) {
        next if $m !~ /(?<![\w.])\Q$n\E\b(?!\s*:[^:])/;
        $names->{$n}{mixed} ? ($mixed = 1) : ($own = 1);
        push @ev, @{ $names->{$n}{ev} };
        $subj{$_} = 1 for keys %{ $names->{$n}{subj} };
    }
    return { reads => ($own || $mixed) ? 1 : 0, mixed => !$own && $mixed, ev => \@ev, subj => \%subj };
}

# The names of a function that hold stderr text, and for every name bound by
# a `let` the process it is about: {name => {mixed, ev, subj}}.
sub names {
    my ($code, $m, $f, $helpers, $podman) = @_;
    my %names = map { $_ => { mixed => 0, ev => [], subj => { $_ => 1 } } } @NAMES;
    my %bound;
    my $body = substr($m, $f->{from}, $f->{to} - $f->{from});
    my $bodyc = substr($code, $f->{from}, $f->{to} - $f->{from});
    for (1 .. 3) {
        while ($body =~ /\blet\s+(?:mut\s+)?(\w+|\([^=]*?\))\s*(?::[^=;]*)?=(?![=>])/g) {
            my ($pat, $start, $end, $depth) = ($1, $+[0], $+[0], 0);
            while ($end < length $body) {
                my $c = substr($body, $end, 1);
                $depth++ if $c =~ /[([{]/;
                $depth-- if $c =~ /[)\]}]/;
                last if $depth < 0 || ($c eq ";" && $depth == 0);
                $end++;
            }
            my $rhs = substr($body, $start, $end - $start);
            my $rhsc = substr($bodyc, $start, $end - $start);
            if ($pat =~ /^\(/) {
                # A tuple: its parts are about one process. Bound from a
                # tuple of expressions, each part holds stderr text when its
                # expression reads some; else only the conventional names do.
                my @parts = map { /(\w+)\s*$/ ? $1 : "_" } split /,/, substr($pat, 1, -1);
                my ($r0, $r1) = ($rhs =~ /^(\s*)\(/ ? (length $1, match_paren($rhs, length $1)) : (0, -1));
                my @exprs;
                @exprs = split_args($rhs, $r0 + 1, $r1) if $r1 > 0 && substr($rhs, $r1 + 1) !~ /\S/;
                for my $k (0 .. $#parts) {
                    my $p = $parts[$k];
                    next if $p eq "_";
                    $bound{$p} = { "let\@$start" => 1 };
                    $names{$p}{subj} = $bound{$p} if $names{$p};
                    my $e = $exprs[$k] // next;
                    my $r = reads(substr($rhs, $e->[0], $e->[1] - $e->[0]), substr($rhsc, $e->[0], $e->[1] - $e->[0]),
                        \%names, $helpers, $podman);
                    $names{$p} = { mixed => $r->{mixed}, ev => $r->{ev}, subj => $bound{$p} } if $r->{reads};
                }
                next;
            }
            my $r = reads($rhs, $rhsc, \%names, $helpers, $podman);
            my %subj = (%{ $r->{subj} }, $pat => 1);
            $bound{$pat} = \%subj;
            # A conventional name bound to something else is not stderr text here.
            $r->{reads} ? ($names{$pat} = { mixed => $r->{mixed}, ev => $r->{ev}, subj => \%subj })
                : delete $names{$pat};
        }
    }
    $f->{bound} = \%bound;
    return \%names;
}

# The exit code an assertion expects, and of which process, if it is about one.
sub exit_code {
    my ($kind, $m, $a, $names) = @_;
    return undef if $kind ne "assert_eq" || @$a < 2;
    my $got = substr($m, $a->[0][0], $a->[0][1] - $a->[0][0]);
    my $want = substr($m, $a->[1][0], $a->[1][1] - $a->[1][0]);
    return undef if $got !~ /\bcode\b|\.wait\(\)|finishes_at_once|exit_code/ || $want !~ /(\d+)/;
    my $n = $1;
    my %subj;
    $subj{$1} = 1 while $got =~ /(\w+)\s*\.\s*(?:status|code\b|wait\s*\(|exit_code|try_code)/g;
    $subj{$1} = 1 while $got =~ /\b(?:code|finishes_at_once)\s*\(\s*&\s*(?:mut\s+)?(\w+)/g;
    return { code => $n, subj => \%subj, got => $got };
}

sub belonging_exit {
    my ($sites, $i) = @_;
    my $s = $sites->[$i];
    return $s->{exit}{code} if $s->{exit};
    my $fn = $s->{fn} // return undef;
    my @same = grep { ($sites->[$_]{fn} // 0) == $fn && $sites->[$_]{exit} } 0 .. $#$sites;
    my @before = reverse grep { $_ < $i } @same;
    my @after = grep { $_ > $i } @same;
    my $bound = $fn->{bound} // {};
    my $about = sub {
        my $e = $sites->[$_[0]]{exit};
        my %subj = %{ $e->{subj} };
        # A bare name (`code`) is about what its `let` bound it from.
        for my $n ($e->{got} =~ /\b([a-z_]\w*)\b/g) {
            %subj = (%subj, %{ $bound->{$n} }) if $bound->{$n};
        }
        return grep { $subj{$_} } keys %{ $s->{subj} };
    };
    for my $k (@before, @after) {
        return $sites->[$k]{exit}{code} if $about->($k);
    }
    return @before ? $sites->[ $before[0] ]{exit}{code} : @after ? $sites->[ $after[0] ]{exit}{code} : undef;
}
PERL
