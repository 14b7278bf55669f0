using System.Globalization;
using System.Text.Json;

namespace MllmData.Generation;

/// <summary>The calculator tool: numbers, + - * /, unary minus and brackets, evaluated left to right with the usual precedence.</summary>
public static class Calculator
{
    /// <summary>The value, or null when the text is not such an expression, is longer than 200 characters, or divides by zero.</summary>
    public static decimal? Evaluate(string expression)
    {
        if (expression.Length > 200)
        {
            return null;
        }

        var p = new Parser(expression);
        try
        {
            var value = p.Sum();
            p.SkipSpaces();
            return p.AtEnd ? value : null;
        }
        catch (Exception ex) when (ex is FormatException or DivideByZeroException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>An integer as an integer, anything else rounded to six decimals.</summary>
    public static void Write(Utf8JsonWriter w, decimal value)
    {
        var rounded = Math.Round(value, 6, MidpointRounding.AwayFromZero);
        w.WriteRawValue(rounded == decimal.Truncate(rounded)
            ? decimal.Truncate(rounded).ToString(CultureInfo.InvariantCulture)
            : rounded.ToString("0.######", CultureInfo.InvariantCulture));
    }

    private sealed class Parser(string text)
    {
        private int _at;

        public bool AtEnd => _at == text.Length;

        public void SkipSpaces()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }
        }

        private bool Take(char c)
        {
            SkipSpaces();
            if (_at < text.Length && text[_at] == c)
            {
                _at++;
                return true;
            }

            return false;
        }

        public decimal Sum()
        {
            var value = Product();
            while (true)
            {
                if (Take('+'))
                {
                    value += Product();
                }
                else if (Take('-'))
                {
                    value -= Product();
                }
                else
                {
                    return value;
                }
            }
        }

        private decimal Product()
        {
            var value = Unary();
            while (true)
            {
                if (Take('*'))
                {
                    value *= Unary();
                }
                else if (Take('/'))
                {
                    value /= Unary();
                }
                else
                {
                    return value;
                }
            }
        }

        private decimal Unary()
        {
            if (Take('-'))
            {
                return -Unary();
            }

            if (Take('('))
            {
                var value = Sum();
                return Take(')') ? value : throw new FormatException("unclosed bracket");
            }

            SkipSpaces();
            var start = _at;
            while (_at < text.Length && (char.IsAsciiDigit(text[_at]) || text[_at] == '.'))
            {
                _at++;
            }

            return decimal.Parse(text.AsSpan(start, _at - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        }
    }
}
