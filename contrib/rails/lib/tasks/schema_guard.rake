# bin/rails schema_guard:graph OUTPUT=graph.json
# Copy into lib/tasks/ of a Rails app; SCHEMA_GUARD_RAILS names
# schema_guard_rails.rb when it is not in contrib/rails of this checkout.
namespace :schema_guard do
  desc "Export the migrations for schema_guard.declare_migrations()"
  task graph: :environment do
    require ENV.fetch("SCHEMA_GUARD_RAILS", File.expand_path("../../schema_guard_rails.rb", __dir__))
    paths = ActiveRecord::Migrator.migrations_paths
    table = ActiveRecord::Base.schema_migrations_table_name
    graph, warnings = SchemaGuard::RailsGraph.export(
      paths, root: Rails.root.to_s,
      history_table: table == "schema_migrations" ? nil : table
    )
    warnings.each { |w| warn "schema_guard: warning: #{w}" }
    text = "#{JSON.pretty_generate(graph)}\n"
    ENV["OUTPUT"] ? File.write(ENV["OUTPUT"], text) : $stdout.write(text)
  end
end
