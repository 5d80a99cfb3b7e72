import { formatInstruction, RerankerArgumentError } from '@rerank/engine';

describe('instruction formats (Python str.format, as the reference)', () => {
  test('"{}{}" puts the instruction before the text', () => {
    expect(formatInstruction('{}{}', 'Query: ', 'what is ai', 'f')).toBe('Query: what is ai');
  });

  test('a literal backslash-n becomes a newline before formatting', () => {
    expect(formatInstruction('{}\\n{}', 'Represent this', 'text', 'f')).toBe('Represent this\ntext');
  });

  test('numbered fields may reorder or repeat', () => {
    expect(formatInstruction('<{1}|{0}|{1}>', 'I', 'T', 'f')).toBe('<T|I|T>');
  });

  test('doubled braces are literal', () => {
    expect(formatInstruction('{{{}}} {}', 'I', 'T', 'f')).toBe('{I} T');
  });

  test.each([
    ['{}{}{}', /only two are given/],
    ['{name}{}', /format field \{name\} is not supported/],
    ['{0}{}', /mixes \{\} and numbered fields/],
    ['{}{', /unmatched "\{"/],
    ['{}}', /single "\}"/],
  ])('%s is refused with a message that says what to write', (format, message) => {
    let error: unknown;
    try {
      formatInstruction(format, 'I', 'T', 'queryInstructionFormat');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RerankerArgumentError);
    expect((error as RerankerArgumentError).argument).toBe('queryInstructionFormat');
    expect((error as Error).message).toMatch(message);
  });
});
