/** An environment's margin alert policy: the threshold `margin.low` watches, its window and currency. */
import type { UpdateFinanceSettingsBody } from '@bursar/api';
import { auditOf } from '../../platform/commit/audit-chain.ts';
import type { Caller, Reply } from '../../platform/contract.ts';
import type { LedgerService } from '../../platform/service.ts';
import { fieldReply, okReply } from '../../platform/service.ts';
import { toBigint } from '../../platform/storage/codecs.ts';
import type { SqlRow } from '../../platform/storage/database.ts';

const defaults = { margin_low_threshold: null, margin_window_days: 7, margin_currency: 'usd' };

function toWireSettings(row: SqlRow | undefined) {
  if (row === undefined) return defaults;
  return {
    margin_low_threshold: row.margin_low_threshold === null ? null : String(row.margin_low_threshold),
    margin_window_days: Number(toBigint(row.margin_window_days)),
    margin_currency: String(row.margin_currency),
  };
}

async function settingsRow(service: LedgerService, environmentId: string): Promise<SqlRow | undefined> {
  const [row] = await service.database.reader.all('SELECT * FROM finance_settings WHERE environment_id = ?', [
    environmentId,
  ]);
  return row;
}

export async function getFinanceSettings(service: LedgerService, caller: Caller): Promise<Reply> {
  return okReply(200, toWireSettings(await settingsRow(service, caller.environmentId)));
}

export async function updateFinanceSettings(
  service: LedgerService,
  caller: Caller,
  input: UpdateFinanceSettingsBody,
): Promise<Reply> {
  const currency = input.margin_currency ?? defaults.margin_currency;
  if ((await service.asset(caller.environmentId, currency)) === undefined) {
    return fieldReply(caller, [
      {
        field: 'margin_currency',
        message: `must be the code of an asset of this environment; there is no asset "${currency}"`,
      },
    ]);
  }
  return service.submit(caller, 'updateFinanceSettings', input, {
    kind: 'task',
    async run(writer) {
      const [before] = await writer.session.all('SELECT * FROM finance_settings WHERE environment_id = ?', [
        caller.environmentId,
      ]);
      const row: SqlRow = {
        environment_id: caller.environmentId,
        margin_low_threshold: input.margin_low_threshold,
        margin_window_days: BigInt(input.margin_window_days ?? defaults.margin_window_days),
        margin_currency: currency,
        updated_at: BigInt(writer.now),
      };
      const inserted = await writer.session.insertMany('finance_settings', [row], { onConflictDoNothing: true });
      if (inserted.length === 0) await writer.session.updateMany('finance_settings', ['environment_id'], [row]);
      const body = toWireSettings(row);
      writer.audits.push(
        auditOf(
          caller,
          'finance_settings.updated',
          `environment:${caller.environmentId}`,
          null,
          before === undefined ? null : toWireSettings(before),
          body,
        ),
      );
      return okReply(200, body);
    },
  });
}
