import { Body, Controller, HttpCode, HttpStatus, Logger, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { LeaseLostError, MailroomClient, type ReceivedMessage } from '@mailroom/core';
import { ReceiptSigner } from '../auth/receipts';
import { ApiErrors } from '../http/api-error';
import { ClientGone } from '../http/client-gone.decorator';
import { ShutdownSignal } from '../http/shutdown.signal';
import {
  fieldsOf,
  integer,
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringArray,
  stringArray,
} from '../http/request-body';
import { ReceiveRequestDto, ReceiveResultDto } from './message.dto';
import { ApiQueueName } from './queue.dto';
import {
  AckRequestDto,
  AckResultDto,
  ExtendRequestDto,
  ExtendResultDto,
  NackRequestDto,
  NackResultDto,
} from './settle.dto';

/** Consuming over HTTP: receive under a lease, then ack, nack or extend by receipt. */
@ApiTags('deliveries')
@ApiQueueName()
@ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
@Controller('v1/queues')
export class DeliveriesController {
  private readonly logger = new Logger(DeliveriesController.name);

  constructor(
    private readonly mailroom: MailroomClient,
    private readonly shutdown: ShutdownSignal,
    private readonly receipts: ReceiptSigner,
  ) {}

  @Post(':name/receive')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Receive up to max messages, waiting up to waitMs for the first',
    description:
      'The messages are leased to this call (its client) until leaseExpiresAt: only extending their receipts ' +
      'moves that deadline; other receives, by any client and under any consumer name, never renew it. Unless ' +
      'acked, nacked or extended in time they are delivered again about a second after the deadline (spending ' +
      'an attempt). On an exclusive queue the consumer name is the one active consumer and its receives share ' +
      'one lease, renewed by each of them. A paused queue delivers nothing. With `ack`, the given receipts are ' +
      'acked first, in the same statement, and the new batch gets a lease of its own.',
  })
  @ApiBody({ type: ReceiveRequestDto, required: false })
  @ApiOkResponse({ type: ReceiveResultDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.CONFLICT, HttpStatus.GONE)
  async receive(
    @Param('name') name: string,
    @Body() body: unknown,
    @ClientGone() clientGone: AbortSignal,
  ): Promise<{ messages: ReceivedMessage[] }> {
    const fields = fieldsOf(body, ['consumer', 'max', 'waitMs', 'leaseMs', 'ack']);
    const ack = optionalStringArray(fields, 'ack');
    const toAck = ack && (await this.receipts.verify(ack, 'ack'));
    const messages = await this.settling(ack, toAck, () =>
      this.mailroom.receive(name, {
        consumer: optionalString(fields, 'consumer'),
        max: optionalInteger(fields, 'max'),
        waitMs: optionalInteger(fields, 'waitMs'),
        leaseMs: optionalInteger(fields, 'leaseMs'),
        ack: toAck,
        signal: AbortSignal.any([clientGone, this.shutdown.signal]),
      }),
    );
    if (clientGone.aborted && messages.length > 0) await this.giveBack(name, messages);
    return {
      messages: await Promise.all(messages.map(async (m) => ({ ...m, receipt: await this.receipts.sign(m.receipt) }))),
    };
  }

  @Post(':name/ack')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Acknowledge deliveries: the messages are done and removed' })
  @ApiBody({ type: AckRequestDto })
  @ApiOkResponse({ type: AckResultDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.CONFLICT, HttpStatus.GONE)
  async ack(@Param('name') name: string, @Body() body: unknown): Promise<{ acked: number }> {
    const fields = fieldsOf(body, ['receipts']);
    const signed = stringArray(fields, 'receipts');
    const receipts = await this.receipts.verify(signed, 'receipts');
    return this.settling(signed, receipts, () => this.mailroom.ack(name, receipts));
  }

  @Post(':name/nack')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Reject deliveries: one attempt is spent; the messages return after a delay, or go to the DLQ',
  })
  @ApiBody({ type: NackRequestDto })
  @ApiOkResponse({ type: NackResultDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.CONFLICT, HttpStatus.GONE)
  async nack(@Param('name') name: string, @Body() body: unknown): Promise<{ nacked: number }> {
    const fields = fieldsOf(body, ['receipts', 'delayMs', 'reason', 'deadLetter']);
    const signed = stringArray(fields, 'receipts');
    const receipts = await this.receipts.verify(signed, 'receipts');
    const options = {
      delayMs: optionalInteger(fields, 'delayMs'),
      reason: optionalString(fields, 'reason'),
      deadLetter: optionalBoolean(fields, 'deadLetter'),
    };
    return this.settling(signed, receipts, () => this.mailroom.nack(name, receipts, options));
  }

  @Post(':name/extend')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Extend the leases holding these deliveries to at least now + leaseMs',
    description:
      'Only the holder of the receipts can keep its deliveries: a lease is the batch of one receive, and this ' +
      'moves the deadline of the batches these receipts came from. A receipt whose lease expired answers 409.',
  })
  @ApiBody({ type: ExtendRequestDto })
  @ApiOkResponse({ type: ExtendResultDto })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.CONFLICT, HttpStatus.GONE)
  async extend(@Param('name') name: string, @Body() body: unknown): Promise<{ leaseExpiresAt: Date }> {
    const fields = fieldsOf(body, ['receipts', 'leaseMs']);
    const signed = stringArray(fields, 'receipts');
    const receipts = await this.receipts.verify(signed, 'receipts');
    const leaseMs = integer(fields, 'leaseMs');
    return this.settling(signed, receipts, () => this.mailroom.extend(name, receipts, leaseMs));
  }

  /**
   * Runs a settle with the library's receipts; a lease_lost error names them as the client
   * sent them (signed), so it can match them to its own.
   */
  private async settling<T>(
    signed: string[] | undefined,
    receipts: string[] | undefined,
    settle: () => Promise<T>,
  ): Promise<T> {
    try {
      return await settle();
    } catch (error) {
      if (!(error instanceof LeaseLostError) || !signed || !receipts) throw error;
      const asSent = new Map(receipts.map((receipt, i) => [receipt, signed[i]]));
      throw new LeaseLostError(error.receipts.map((receipt) => asSent.get(receipt) ?? receipt));
    }
  }

  /**
   * The client left while its long-poll was claiming: nobody will see these receipts.
   * Returning them now costs the attempt that lease expiry would cost anyway, without
   * holding the messages back for a whole lease.
   */
  private async giveBack(name: string, messages: ReceivedMessage[]): Promise<void> {
    const receipts = messages.map((m) => m.receipt);
    await this.mailroom.nack(name, receipts, { reason: 'receiver disconnected before delivery' }).catch((error) => {
      this.logger.warn(`Could not return ${receipts.length} undelivered message(s) of "${name}": ${error}`);
    });
  }
}
