# Exports a Rails project's migrations for schema_guard.declare_migrations().
#
#   ruby schema_guard_rails.rb [--migrations-path db/migrate] [--output graph.json]
#   bin/rails schema_guard:graph OUTPUT=graph.json   (lib/tasks/schema_guard.rake)
#
# The migrations are the files ActiveRecord::MigrationContext reads, with
# their versions and files; Rails orders them by version alone, so none
# depends on another (an older migration still pending is one Rails runs,
# not an inconsistency). What each creates comes from running its change
# (or up) against ActiveRecord's CommandRecorder, without a database: the
# tables it creates and the columns it adds (add_column, add_reference,
# add_timestamps), less anything any migration drops or renames, so that a
# version recorded without its DDL is caught as faked_migration. A
# migration that needs a database to run is exported without "creates",
# with a warning.
require "json"
require "optparse"
require "active_record"

module SchemaGuard
  module RailsGraph
    FORMAT = "schema_guard.migrations/1"

    module_function

    # What the recorder saw: [[tables], [[table, column]], [dropped names]].
    def recorded(proxy)
      recorder = ActiveRecord::Migration::CommandRecorder.new(nil)
      migration = proxy.send(:migration)
      migration.exec_migration(recorder, :up)
      tables = []
      columns = []
      dropped = []
      recorder.commands.each do |name, args, _block|
        table = args[0].to_s
        case name
        when :create_table then tables << table
        when :create_join_table
          options = args[2].is_a?(Hash) ? args[2] : {}
          tables << (options[:table_name] || [args[0], args[1]].map(&:to_s).sort.join("_")).to_s
        when :add_column then columns << [table, args[1].to_s]
        when :add_reference, :add_belongs_to then columns << [table, "#{args[1]}_id"]
        when :add_timestamps then columns.push([table, "created_at"], [table, "updated_at"])
        when :drop_table, :drop_join_table, :rename_table then dropped << table
        when :remove_column, :rename_column then dropped << "#{table}.#{args[1]}"
        when :remove_columns then args[1..].each { |c| dropped << "#{table}.#{c}" unless c.is_a?(Hash) }
        when :remove_reference, :remove_belongs_to then dropped << "#{table}.#{args[1]}_id"
        when :remove_timestamps then dropped.push("#{table}.created_at", "#{table}.updated_at")
        end
      end
      [tables, columns, dropped]
    end

    def export(paths, root: Dir.pwd, history_table: nil)
      ActiveRecord::Migration.verbose = false
      context = ActiveRecord::MigrationContext.new(paths, ActiveRecord::SchemaMigration)
      warnings = []
      creates = {}
      dropped = []
      migrations = context.migrations
      migrations.each do |proxy|
        tables, columns, gone = recorded(proxy)
        creates[proxy.filename] = [tables, columns]
        dropped.concat(gone)
      rescue StandardError, NotImplementedError => e
        warnings << "#{proxy.filename}: cannot be recorded without a database " \
                    "(#{e.class}: #{e.message.lines.first&.strip}); exported without \"creates\""
      end
      root_path = File.expand_path(root)
      list = migrations.map do |proxy|
        file = File.expand_path(proxy.filename)
        file = file.delete_prefix("#{root_path}/") if file.start_with?("#{root_path}/")
        m = { "name" => proxy.version.to_s, "file" => file,
              "description" => proxy.name }
        if (found = creates[proxy.filename])
          tables, columns = found
          m["creates"] = {
            "tables" => tables.reject { |t| dropped.include?(t) },
            "columns" => columns.reject { |t, c| dropped.include?(t) || dropped.include?("#{t}.#{c}") }
          }
        end
        m
      end
      graph = { "format" => FORMAT, "framework" => "rails",
                "source" => "rails #{paths.join(', ')}", "migrations" => list }
      graph["history_table"] = history_table if history_table
      [graph, warnings]
    end

    def main(argv)
      options = { paths: [], output: "-", history_table: nil }
      OptionParser.new do |o|
        o.banner = "usage: ruby schema_guard_rails.rb [options]"
        o.on("--migrations-path PATH", "a migrations folder (default: db/migrate)") { |p| options[:paths] << p }
        o.on("--history-table NAME", "schema_migrations under another name") { |t| options[:history_table] = t }
        o.on("--output FILE", "file to write (default: standard output)") { |f| options[:output] = f }
      end.parse!(argv)
      options[:paths] = ["db/migrate"] if options[:paths].empty?
      graph, warnings = export(options[:paths], history_table: options[:history_table])
      warnings.each { |w| warn "schema_guard_rails: warning: #{w}" }
      text = "#{JSON.pretty_generate(graph)}\n"
      options[:output] == "-" ? $stdout.write(text) : File.write(options[:output], text)
      0
    end
  end
end

exit SchemaGuard::RailsGraph.main(ARGV) if $PROGRAM_NAME == __FILE__
