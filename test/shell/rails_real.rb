# Drives ActiveRecord migrations (see rails.sh) and compares schema_guard
# with ActiveRecord's own answers. Every migration names the objects it
# creates after its version (t_v3, ix_v7), so each audit row can be checked
# against the migration that ran.
require "json"
require "fileutils"
require "open3"
require "active_record"

root, work, db = ARGV
require File.join(root, "contrib", "rails", "schema_guard_rails.rb")
ActiveRecord::Base.establish_connection(
  adapter: "postgresql", database: db, host: ENV["PGHOST"], port: ENV["PGPORT"],
  username: ENV.fetch("PGUSER", "postgres")
)
ActiveRecord::Migration.verbose = false
conn = ActiveRecord::Base.connection
$tests = []
def ok(cond, name, detail = "")
  $tests << [cond ? true : false, name, detail.to_s]
end

def q(sql)
  ActiveRecord::Base.connection.select_rows(sql)
end

def psql(db, sql) # a session of its own, as a DBA's
  out, status = Open3.capture2e("psql", "-X", "-q", "-d", db, "-c", sql)
  raise out unless status.success?
end

dir = File.join(work, "db", "migrate")
FileUtils.mkdir_p(dir)
MIGRATIONS = {
  1 => ["CreateTableV1", "create_table :t_v1 do |t|\n      t.string :name\n    end"],
  2 => ["AddColumnV2", "add_column :t_v1, :c_v2, :integer"],
  3 => ["CreateTableV3", "create_table :t_v3"],
  4 => ["CreateTableV4", "create_table :t_v4"],
  5 => ["AddIndexV5", "add_index :t_v1, :name, name: :ix_v5, algorithm: :concurrently", true],
  6 => ["CreateTableV6", "create_table :t_v6"]
}.freeze

def add(dir, version, file_version = version)
  klass, body, concurrent = MIGRATIONS.fetch(version)
  File.write(File.join(dir, format("%014d_%s.rb", file_version, klass.underscore)),
             "class #{klass} < ActiveRecord::Migration[6.1]\n" \
             "#{concurrent ? "  disable_ddl_transaction!\n" : ''}" \
             "  def change\n    #{body}\n  end\nend\n")
end

def context(dir)
  ActiveRecord::MigrationContext.new([dir], ActiveRecord::SchemaMigration)
end

def declare(dir, work)
  graph, = SchemaGuard::RailsGraph.export([dir], root: work)
  q("SELECT schema_guard.declare_migrations(#{ActiveRecord::Base.connection.quote(JSON.generate(graph))}::jsonb)")
  graph
end

$mark = 0
def audit_rows
  rows = q("SELECT object_identity, command_tag, coalesce(migration, '(drift)') FROM schema_guard.ddl_event " \
           "WHERE event_id > #{$mark} AND schema_name = 'public' AND object_identity !~ " \
           "'schema_migrations|ar_internal_metadata' ORDER BY event_id")
  $mark = q("SELECT coalesce(max(event_id), 0) FROM schema_guard.ddl_event")[0][0].to_i
  rows
end

# The version whose name the object carries last; a DROP reverts it.
def expected_label(identity, tag, ran)
  found = identity.scan(/(?:^|[._ ])[a-z]+_v(\d+)(?=$|[._ ])/).flatten.map(&:to_i)
  if tag == "ALTER TABLE" && identity.count(".") == 1
    return ran.map { |v, d| d == :up ? "rails:#{v}" : "rails:#{v} (reverted)" }
  end
  v = found.last
  return ["(drift)"] unless v && ran.key?(v)
  [tag.start_with?("DROP") || ran[v] == :down ? "rails:#{v} (reverted)" : "rails:#{v}"]
end

def compare(stage, dir, ran: nil, kinds: nil)
  ctx = context(dir)
  status = ctx.migrations_status
  pending = ctx.open.pending_migrations.map { |m| m.version.to_s } rescue nil
  found = q("SELECT DISTINCT kind FROM schema_guard.migration_check('rails') WHERE severity <> 'info' ORDER BY 1").flatten
  plan = q("SELECT name FROM schema_guard.migration_plan() WHERE framework = 'rails' ORDER BY step").flatten
  report = q("SELECT migration_check('rails')")[0][0]
  applied_with_file = status.count { |s, _v, name| s == "up" && name !~ /NO FILE/ }
  counts = report[/^  rails\s+(\d+)\s+(\d+)\s+\d+$/] && [$1.to_i, $2.to_i]
  if pending
    ok(plan == pending, "#{stage}: the plan is what db:migrate runs, in its order", "#{plan} vs #{pending}")
    ok(counts == [applied_with_file, pending.size], "#{stage}: applied and pending counts are ActiveRecord's",
       "#{counts.inspect} vs #{applied_with_file}, #{pending.size}")
    ok(ctx.needs_migration? == !plan.empty?, "#{stage}: pending exactly when needs_migration?")
  else
    ok(found.include?("duplicate_version"), "#{stage}: ActiveRecord refuses, and schema_guard says why", report)
  end
  ghosts = status.select { |_s, _v, name| name =~ /NO FILE/ }.map { |_s, v, _n| "rails:#{v.to_i}" }
  sg_ghosts = q("SELECT object FROM schema_guard.migration_check('rails') WHERE kind = 'ghost_migration' ORDER BY 1").flatten
  ok(sg_ghosts == ghosts.sort, "#{stage}: ghosts are ActiveRecord's NO FILE rows", "#{sg_ghosts} vs #{ghosts}")
  ok(found == kinds.sort, "#{stage}: findings #{kinds.sort}", "#{found}\n#{report}") if kinds
  if ran
    rows = audit_rows
    wrong = rows.reject { |i, t, m| expected_label(i, t, ran).include?(m) }
    ok(!rows.empty? && wrong.empty?, "#{stage}: every audit row names the migration that made it (#{rows.size} rows)",
       (wrong.empty? ? rows : wrong).inspect)
  end
  report
end

[1, 2, 3].each { |v| add(dir, v) }
ActiveRecord::SchemaMigration.create_table # as db:migrate does first
audit_rows
declare(dir, work)
compare("nothing applied", dir, kinds: ["pending_migration"])
context(dir).up(2)
compare("partial migrate", dir, ran: { 1 => :up, 2 => :up }, kinds: ["pending_migration"])
context(dir).migrate
compare("full migrate", dir, ran: { 3 => :up }, kinds: [])

# An older migration still pending: Rails runs it; no inconsistency.
[4, 6].each { |v| add(dir, v) }
declare(dir, work)
context(dir).run(:up, 6)
compare("newer applied, older pending", dir, ran: { 6 => :up }, kinds: ["pending_migration"])
context(dir).migrate
compare("older one run", dir, ran: { 4 => :up }, kinds: [])

# disable_ddl_transaction!: the index commits before its version row.
add(dir, 5)
declare(dir, work)
context(dir).migrate
compare("concurrent index", dir, ran: { 5 => :up }, kinds: [])

# Rollback: the DROP reverts 6.
context(dir).rollback
compare("rollback", dir, ran: { 6 => :down }, kinds: ["pending_migration"])
context(dir).migrate
compare("migrated again", dir, ran: { 6 => :up }, kinds: [])

# A hand-made ALTER is drift.
psql(db, "ALTER TABLE t_v1 ADD COLUMN hand_made int")
rows = audit_rows
ok(!rows.empty? && rows.all? { |_i, _t, m| m == "(drift)" }, "a hand-made ALTER is drift", rows.inspect)

# A ghost version: Rails lists it as NO FILE and migrates anyway.
psql(db, "INSERT INTO schema_migrations (version) VALUES ('20990101000000')")
compare("ghost", dir, kinds: ["ghost_migration"])

# A duplicate version: ActiveRecord refuses to migrate.
File.write(File.join(dir, "00000000000004_create_table_v4_again.rb"),
           "class CreateTableV4Again < ActiveRecord::Migration[6.1]\n  def change\n    create_table :t_v4b\n  end\nend\n")
declare(dir, work)
refused = begin
  context(dir).migrate
  nil
rescue ActiveRecord::DuplicateMigrationVersionError => e
  e.message
end
ok(refused&.include?("Multiple migrations have the version number 4"), "ActiveRecord refuses the duplicate version", refused)
report = compare("duplicate version", dir, kinds: %w[duplicate_version ghost_migration])
dup = q("SELECT message, fix FROM schema_guard.migration_check('rails') WHERE kind = 'duplicate_version'")[0]
ok(dup && dup[0].include?("db/migrate/00000000000004_create_table_v4.rb and db/migrate/00000000000004_create_table_v4_again.rb"),
   "duplicate_version names the files", dup.inspect)
ok(dup && dup[1] == "mv db/migrate/00000000000004_create_table_v4_again.rb db/migrate/7_create_table_v4_again.rb",
   "its fix renames the later file to the next free version", dup.inspect)
Dir.chdir(work) { system(dup[1]) } if dup && dup[1]
declare(dir, work)
ok(context(dir).open.pending_migrations.map(&:version) == [7], "after the fix Rails has the renamed one pending")
compare("after the rename", dir, kinds: %w[ghost_migration pending_migration])

puts "1..#{$tests.size}"
$tests.each_with_index do |(passed, name, detail), i|
  puts "#{passed ? 'ok' : 'not ok'} #{i + 1} - #{name}"
  detail.lines.first(15).each { |l| puts "#   #{l.chomp}" } unless passed || detail.empty?
end
