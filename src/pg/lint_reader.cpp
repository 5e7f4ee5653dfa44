#include "pg/lint_reader.hpp"

#include <cstring>
#include <string>

#include "pg/bridge.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "commands/tablecmds.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace schema_guard::pg {
namespace {

using core::ActionKind;
using core::DefaultKind;
using core::LockMode;
using core::StatementKind;

LockMode FromLockmode(LOCKMODE mode) {
  return mode >= AccessShareLock && mode <= AccessExclusiveLock
             ? static_cast<LockMode>(mode)
             : LockMode::kNone;
}

// A type as the grammar wrote it: keyword types (integer, character
// varying, numeric, ...) arrive as their pg_type names, so no catalog
// lookup is needed to compare them.
core::LintType RawType(const TypeName* type_name) {
  core::LintType type;
  if (type_name == nullptr || type_name->names == NIL) return type;
  type.name = strVal(llast(type_name->names));
  type.array = type_name->arrayBounds != NIL;
  ListCell* cell;
  foreach (cell, type_name->typmods) {
    auto* node = static_cast<Node*>(lfirst(cell));
    if (IsA(node, A_Const) && IsA(&castNode(A_Const, node)->val, Integer)) {
      type.mods.push_back(intVal(&castNode(A_Const, node)->val));
    }
  }
  return type;
}

// The type as format_type spells it ("character varying(50)"), or empty
// when it does not exist.
std::string TypeDisplay(TypeName* type_name, const core::LintType& type) {
  const char* base = nullptr;
  PgTry([&]() noexcept {
    Type tuple = LookupTypeName(nullptr, type_name, nullptr, true);
    if (tuple == nullptr) return;
    base = format_type_be(typeTypeId(tuple));
    ReleaseSysCache(tuple);
  });
  if (base == nullptr) return {};
  std::string display = base;
  if (!type.mods.empty()) {
    display += "(";
    for (std::size_t i = 0; i < type.mods.size(); ++i) {
      display += (i > 0 ? "," : "") + std::to_string(type.mods[i]);
    }
    display += ")";
  }
  return display;
}

// serial, bigserial and smallserial: the integer type they stand for.
const char* SerialType(const TypeName* type_name) {
  if (type_name == nullptr || list_length(type_name->names) != 1 ||
      type_name->arrayBounds != NIL) {
    return nullptr;
  }
  const char* name = strVal(linitial(type_name->names));
  if (strcmp(name, "serial") == 0 || strcmp(name, "serial4") == 0) {
    return "int4";
  }
  if (strcmp(name, "bigserial") == 0 || strcmp(name, "serial8") == 0) {
    return "int8";
  }
  if (strcmp(name, "smallserial") == 0 || strcmp(name, "serial2") == 0) {
    return "int2";
  }
  return nullptr;
}

// Whether a raw default expression is volatile: it calls a function of
// that name that is VOLATILE (or unknown), or holds a subquery.
bool VolatileWalker(Node* node, void* context) {
  if (node == nullptr) return false;
  if (IsA(node, SubLink)) return true;
  if (IsA(node, FuncCall)) {
    FuncCandidateList candidates = FuncnameGetCandidates(
        castNode(FuncCall, node)->funcname, -1, NIL, false, false, false, true);
    if (candidates == nullptr) return true;
    for (; candidates != nullptr; candidates = candidates->next) {
      if (func_volatile(candidates->oid) == PROVOLATILE_VOLATILE) return true;
    }
  }
#if PG_VERSION_NUM >= 160000
  return raw_expression_tree_walker(node, VolatileWalker, context);
#else
  // PostgreSQL 15 declares the walker without a prototype.
  return raw_expression_tree_walker(
      node,
      reinterpret_cast<bool (*)()>(
          reinterpret_cast<void (*)()>(VolatileWalker)),
      context);
#endif
}

bool IsVolatile(Node* expr) {
  bool is_volatile = false;
  PgTry([&]() noexcept { is_volatile = VolatileWalker(expr, nullptr); });
  return is_volatile;
}

// CHECK (column IS NOT NULL): the column, or null.
const char* NotNullCheckColumn(const Constraint* constraint) {
  Node* expr = constraint->raw_expr;
  if (expr == nullptr || !IsA(expr, NullTest)) return nullptr;
  auto* test = castNode(NullTest, expr);
  if (test->nulltesttype != IS_NOT_NULL || test->arg == nullptr ||
      !IsA(test->arg, ColumnRef)) {
    return nullptr;
  }
  List* fields = castNode(ColumnRef, test->arg)->fields;
  if (list_length(fields) != 1 || !IsA(linitial(fields), String)) {
    return nullptr;
  }
  return strVal(linitial(fields));
}

core::LintColumn ReadColumn(const ColumnDef* def, LiveCatalog* catalog) {
  core::LintColumn column;
  column.name = def->colname != nullptr ? def->colname : "";
  column.not_null = def->is_not_null;
  if (const char* serial = SerialType(def->typeName)) {
    column.type.name = serial;
    column.default_kind = DefaultKind::kSerial;
  } else {
    column.type = RawType(def->typeName);
  }
  ListCell* cell;
  foreach (cell, def->constraints) {
    auto* constraint = static_cast<Constraint*>(lfirst(cell));
    switch (constraint->contype) {
      case CONSTR_NOTNULL:
        column.not_null = true;
        break;
      case CONSTR_DEFAULT:
        if (column.default_kind == DefaultKind::kNone) {
          column.default_kind = IsVolatile(constraint->raw_expr)
                                    ? DefaultKind::kVolatile
                                    : DefaultKind::kConstant;
        }
        break;
      case CONSTR_IDENTITY:
        column.default_kind = DefaultKind::kIdentity;
        break;
      case CONSTR_GENERATED:
        column.default_kind = DefaultKind::kGenerated;
        break;
      case CONSTR_PRIMARY:
        column.primary_key = true;
        column.not_null = true;
        break;
      case CONSTR_UNIQUE:
        column.unique = true;
        break;
      case CONSTR_FOREIGN: {
        bool temporary = false;
        column.references = catalog->Resolve(constraint->pktable, &temporary);
        break;
      }
      default:
        break;
    }
  }
  return column;
}

void ReadConstraint(const Constraint* constraint, LiveCatalog* catalog,
                    core::LintAction* action) {
  action->name = constraint->conname != nullptr ? constraint->conname : "";
  action->not_valid = constraint->skip_validation;
  action->using_index = constraint->indexname != nullptr;
  switch (constraint->contype) {
    case CONSTR_CHECK:
      action->kind = ActionKind::kAddCheck;
      if (const char* column = NotNullCheckColumn(constraint)) {
        action->not_null_column = column;
      }
      break;
    case CONSTR_FOREIGN: {
      action->kind = ActionKind::kAddForeignKey;
      bool temporary = false;
      action->references = catalog->Resolve(constraint->pktable, &temporary);
      break;
    }
    case CONSTR_UNIQUE:
      action->kind = ActionKind::kAddUnique;
      break;
    case CONSTR_PRIMARY:
      action->kind = ActionKind::kAddPrimaryKey;
      break;
    default:
      action->kind = ActionKind::kOther;
      break;
  }
}

core::LintAction ReadAlterCommand(const AlterTableCmd* cmd,
                                  LiveCatalog* catalog) {
  core::LintAction action;
  action.name = cmd->name != nullptr ? cmd->name : "";
  switch (cmd->subtype) {
    case AT_AddColumn:
      if (cmd->def != nullptr && IsA(cmd->def, ColumnDef)) {
        action.kind = ActionKind::kAddColumn;
        action.column = ReadColumn(castNode(ColumnDef, cmd->def), catalog);
        action.name = action.column.name;
      }
      break;
    case AT_DropColumn:
      action.kind = ActionKind::kDropColumn;
      break;
    case AT_AlterColumnType:
      if (cmd->def != nullptr && IsA(cmd->def, ColumnDef)) {
        action.kind = ActionKind::kAlterType;
        action.new_type = RawType(castNode(ColumnDef, cmd->def)->typeName);
        action.new_type.display = TypeDisplay(
            castNode(ColumnDef, cmd->def)->typeName, action.new_type);
      }
      break;
    case AT_SetNotNull:
      action.kind = ActionKind::kSetNotNull;
      break;
    case AT_AddConstraint:
      if (cmd->def != nullptr && IsA(cmd->def, Constraint)) {
        ReadConstraint(castNode(Constraint, cmd->def), catalog, &action);
      }
      break;
    case AT_ValidateConstraint:
      action.kind = ActionKind::kValidateConstraint;
      break;
    default:
      break;
  }
  return action;
}

void ReadAlterTable(AlterTableStmt* stmt, LiveCatalog* catalog,
                    core::LintStatement* out) {
  if (stmt->objtype != OBJECT_TABLE || stmt->relation == nullptr) return;
  out->kind = StatementKind::kAlterTable;
  out->table = catalog->Resolve(stmt->relation, &out->temporary);
  LOCKMODE mode = NoLock;
  PgTry([&]() noexcept { mode = AlterTableGetLockLevel(stmt->cmds); });
  out->lock = FromLockmode(mode);
  ListCell* cell;
  foreach (cell, stmt->cmds) {
    out->actions.push_back(ReadAlterCommand(
        static_cast<const AlterTableCmd*>(lfirst(cell)), catalog));
  }
}

void ReadCreateTable(CreateStmt* stmt, LiveCatalog* catalog,
                     core::LintStatement* out) {
  out->kind = StatementKind::kCreateTable;
  out->table = catalog->Resolve(stmt->relation, &out->temporary);
  ListCell* cell;
  foreach (cell, stmt->tableElts) {
    auto* element = static_cast<Node*>(lfirst(cell));
    if (IsA(element, ColumnDef)) {
      out->columns.push_back(ReadColumn(castNode(ColumnDef, element), catalog));
    }
  }
}

void ReadIndex(IndexStmt* stmt, LiveCatalog* catalog,
               core::LintStatement* out) {
  out->kind = StatementKind::kCreateIndex;
  out->table = catalog->Resolve(stmt->relation, &out->temporary);
  out->name = stmt->idxname != nullptr ? stmt->idxname : "";
  out->concurrently = stmt->concurrent;
  out->lock =
      stmt->concurrent ? LockMode::kShareUpdateExclusive : LockMode::kShare;
  if (!out->name.empty()) {
    catalog->NoteIndex(core::LintName{out->table->schema, out->name},
                       *out->table);
  }
}

// An object of DROP TABLE or DROP INDEX as a RangeVar; null for a name of
// more than three parts, which PostgreSQL refuses.
RangeVar* DroppedRelation(Node* object) {
  RangeVar* relation = nullptr;
  int parts = list_length(castNode(List, object));
  if (parts < 1 || parts > 3) return nullptr;
  PgTry([&]() noexcept {
    relation = makeRangeVarFromNameList(castNode(List, object));
  });
  return relation;
}

void ReadDrop(DropStmt* stmt, LiveCatalog* catalog, core::LintStatement* out) {
  if (stmt->removeType == OBJECT_TABLE) {
    out->kind = StatementKind::kDropTable;
    out->lock = LockMode::kAccessExclusive;
    ListCell* cell;
    foreach (cell, stmt->objects) {
      RangeVar* relation = DroppedRelation(static_cast<Node*>(lfirst(cell)));
      bool temporary = false;
      if (relation == nullptr) continue;
      core::LintName name = catalog->Resolve(relation, &temporary);
      if (!temporary) out->tables.push_back(name);
    }
    if (!out->tables.empty()) out->table = out->tables.front();
  } else if (stmt->removeType == OBJECT_INDEX && stmt->objects != NIL) {
    out->kind = StatementKind::kDropIndex;
    out->concurrently = stmt->concurrent;
    out->lock = stmt->concurrent ? LockMode::kShareUpdateExclusive
                                 : LockMode::kAccessExclusive;
    RangeVar* index =
        DroppedRelation(static_cast<Node*>(linitial(stmt->objects)));
    if (index == nullptr) return;
    out->name = index->relname;
    out->table = catalog->IndexTable(index);
  }
}

void ReadRename(RenameStmt* stmt, LiveCatalog* catalog,
                core::LintStatement* out) {
  if (stmt->relation == nullptr) return;
  bool column =
      stmt->renameType == OBJECT_COLUMN && stmt->relationType == OBJECT_TABLE;
  if (stmt->renameType != OBJECT_TABLE && !column) return;
  out->kind =
      column ? StatementKind::kRenameColumn : StatementKind::kRenameTable;
  out->table = catalog->Resolve(stmt->relation, &out->temporary);
  out->lock = LockMode::kAccessExclusive;
  out->name = stmt->subname != nullptr ? stmt->subname : "";
  out->new_name = stmt->newname != nullptr ? stmt->newname : "";
}

void ReadSet(VariableSetStmt* stmt, core::LintStatement* out) {
  if (stmt->name == nullptr || strcmp(stmt->name, "lock_timeout") != 0) return;
  out->set_local = stmt->is_local;
  if (stmt->kind == VAR_SET_VALUE && stmt->args != NIL &&
      IsA(linitial(stmt->args), A_Const)) {
    auto* value = castNode(A_Const, linitial(stmt->args));
    out->kind = StatementKind::kSetLockTimeout;
    if (IsA(&value->val, Integer)) {
      out->lock_timeout_on = intVal(&value->val) != 0;
    } else if (IsA(&value->val, String)) {
      const char* text = strVal(&value->val);
      out->lock_timeout_on = strspn(text, "0 ") != strlen(text);
    } else {
      out->lock_timeout_on = true;
    }
  } else if (stmt->kind == VAR_SET_DEFAULT || stmt->kind == VAR_RESET) {
    out->kind = StatementKind::kResetLockTimeout;
  }
}

bool HasConcurrently(List* params) {
  ListCell* cell;
  foreach (cell, params) {
    auto* option = static_cast<DefElem*>(lfirst(cell));
    if (strcmp(option->defname, "concurrently") == 0) {
      return option->arg == nullptr ||
             (IsA(option->arg, Integer) && intVal(option->arg) != 0) ||
             (IsA(option->arg, String) &&
              strcmp(strVal(option->arg), "false") != 0);
    }
  }
  return false;
}

void ReadOther(Node* node, LiveCatalog* catalog, core::LintStatement* out) {
  switch (nodeTag(node)) {
    case T_TransactionStmt: {
      TransactionStmtKind kind = castNode(TransactionStmt, node)->kind;
      if (kind == TRANS_STMT_BEGIN || kind == TRANS_STMT_START) {
        out->kind = StatementKind::kBegin;
      } else if (kind == TRANS_STMT_COMMIT || kind == TRANS_STMT_ROLLBACK) {
        out->kind = StatementKind::kCommit;
      }
      break;
    }
    case T_VariableSetStmt:
      ReadSet(castNode(VariableSetStmt, node), out);
      break;
    case T_DropdbStmt:
      out->kind = StatementKind::kDropDatabase;
      out->name = castNode(DropdbStmt, node)->dbname;
      break;
    case T_TruncateStmt: {
      List* relations = castNode(TruncateStmt, node)->relations;
      if (relations == NIL) break;
      out->kind = StatementKind::kOtherLocking;
      out->lock = LockMode::kAccessExclusive;
      out->table = catalog->Resolve(castNode(RangeVar, linitial(relations)),
                                    &out->temporary);
      break;
    }
    case T_ReindexStmt: {
      auto* stmt = castNode(ReindexStmt, node);
      out->kind = StatementKind::kReindex;
      out->concurrently = HasConcurrently(stmt->params);
      if (stmt->relation != nullptr && stmt->kind == REINDEX_OBJECT_TABLE) {
        out->table = catalog->Resolve(stmt->relation, &out->temporary);
        out->lock = out->concurrently ? LockMode::kShareUpdateExclusive
                                      : LockMode::kShare;
      }
      break;
    }
    case T_CreateTableAsStmt: {
      auto* stmt = castNode(CreateTableAsStmt, node);
      if (stmt->objtype != OBJECT_TABLE || stmt->into == nullptr) break;
      out->kind = StatementKind::kCreateTable;
      out->table = catalog->Resolve(stmt->into->rel, &out->temporary);
      break;
    }
    default:
      break;
  }
}

}  // namespace

void ReadStatement(Node* node, LiveCatalog* catalog,
                   core::LintStatement* statement) {
  const char* tag = nullptr;
  PgTry([&]() noexcept { tag = GetCommandTagName(CreateCommandTag(node)); });
  statement->tag = tag != nullptr ? tag : "";
  switch (nodeTag(node)) {
    case T_CreateStmt:
      ReadCreateTable(castNode(CreateStmt, node), catalog, statement);
      break;
    case T_IndexStmt:
      ReadIndex(castNode(IndexStmt, node), catalog, statement);
      break;
    case T_AlterTableStmt:
      ReadAlterTable(castNode(AlterTableStmt, node), catalog, statement);
      break;
    case T_DropStmt:
      ReadDrop(castNode(DropStmt, node), catalog, statement);
      break;
    case T_RenameStmt:
      ReadRename(castNode(RenameStmt, node), catalog, statement);
      break;
    default:
      ReadOther(node, catalog, statement);
      break;
  }
}

bool GuardedNode(Node* node) {
  switch (nodeTag(node)) {
    case T_IndexStmt:
    case T_AlterTableStmt:
    case T_DropStmt:
    case T_RenameStmt:
    case T_TruncateStmt:
    case T_ReindexStmt:
      return true;
    default:
      return false;
  }
}

}  // namespace schema_guard::pg
